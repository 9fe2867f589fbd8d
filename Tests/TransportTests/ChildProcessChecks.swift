// The two halves of a test whose body must run in a child process (it changes process-wide state such
// as RLIMIT_NOFILE): the child reports what went wrong on stderr and exits 1, the parent shows it.

import Testing

#if canImport(Glibc)
import Glibc
#endif

/// In the child of an exit test: returns when `failures` is empty, else writes them to stderr, one a line,
/// and exits 1.
func exitIfAnyFailed(_ failures: [String]) {
    guard failures.isEmpty else {
        let text = failures.joined(separator: "\n") + "\n"
        _ = text.withCString { Glibc.write(2, $0, strlen($0)) }
        exit(1)
    }
}

/// In the parent: records what the child wrote to stderr when it did not exit 0 (the exit test's own
/// failure says only that the status was wrong).
func recordChildErrors(_ result: ExitTest.Result?, sourceLocation: SourceLocation = #_sourceLocation) {
    if let result, result.exitStatus != .exitCode(0) {
        Issue.record(
            "child said: \(String(decoding: result.standardErrorContent, as: UTF8.self))",
            sourceLocation: sourceLocation
        )
    }
}
