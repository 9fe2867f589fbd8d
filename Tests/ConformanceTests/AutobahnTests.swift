import Testing
import WorkermanTestSupport

#if canImport(Glibc)
import Glibc
#endif

/// Autobahn|Testsuite, both ways: the fuzzingclient against our server (ws-echo) and our client
/// (autobahn-client) against the fuzzingserver, run by `Scripts/autobahn.sh` with kosoku. CI installs
/// kosoku (.ci/run); without it the test is skipped.
@Suite struct AutobahnTests {
    static let repository: String = {
        var path = #filePath
        for _ in 0..<3 { path = String(path[..<path.lastIndex(of: "/")!]) }
        return path
    }()

    static var kosoku: String {
        if let path = getenv("KOSOKU") { return String(cString: path) }
        return String(cString: getenv("HOME") ?? strdup("/nonexistent")) + "/venvs/kosoku/bin/kosoku"
    }

    /// The folder holding this test bundle, where `swift build --build-tests` put ws-echo and
    /// autobahn-client (the test target depends on both).
    static var binaries: String {
        var buffer = [CChar](repeating: 0, count: 4096)
        let length = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        let exe = String(decoding: buffer[0..<max(0, length)].map { UInt8(bitPattern: $0) }, as: UTF8.self)
        var folder = exe
        // …/debug/swift-workermanPackageTests.xctest
        if let slash = folder.lastIndex(of: "/") { folder = String(folder[..<slash]) }
        return folder
    }

    @Test(.enabled(if: access(kosoku, X_OK) == 0, "kosoku is not installed (pip install kosoku, see .ci/run)"),
          .timeLimit(.minutes(5)))
    func serverAndClientPassEveryCase() throws {
        let output = try run(["/bin/bash", "\(Self.repository)/Scripts/autobahn.sh"], environment: [
            "BIN": Self.binaries, "KOSOKU": Self.kosoku,
        ])
        let lines = output.split(separator: "\n")
        let summary = lines.last.map(String.init) ?? ""
        #expect(summary == "602 passed, 0 failed", "Autobahn: \(lines.suffix(3).joined(separator: " | "))")
    }

    /// Runs a command to completion and returns its standard output.
    private func run(_ argv: [String], environment: [String: String]) throws -> String {
        var pipeFDs: [CInt] = [0, 0]
        // Close-on-exec: only the dup2'd standard output reaches the script, so a server it starts (with
        // its own output redirected) cannot hold the pipe open and keep this read waiting.
        #expect(pipe(&pipeFDs) == 0)
        _ = fcntl(pipeFDs[0], F_SETFD, FD_CLOEXEC)
        _ = fcntl(pipeFDs[1], F_SETFD, FD_CLOEXEC)
        // ChildProcess gives the script default signal handling and an empty mask: the runner's threads
        // block signals, and a child would inherit that, so the script's servers would never see the
        // SIGTERM that stops them.
        let pid = try ChildProcess.spawn(
            argv[0],
            Array(argv.dropFirst()),
            environment: environment,
            output: .descriptor(pipeFDs[1]),
            errors: .null
        )
        close(pipeFDs[1])
        defer { close(pipeFDs[0]) }
        var output: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        // Bounded: the script bounds its own runs (600 s each), and this gives up a little after that.
        var deadline = timespec()
        clock_gettime(CLOCK_MONOTONIC, &deadline)
        let end = deadline.tv_sec + 1300
        while true {
            var now = timespec()
            clock_gettime(CLOCK_MONOTONIC, &now)
            guard now.tv_sec < end else {
                kill(pid, SIGKILL)
                break
            }
            var ready = pollfd(fd: pipeFDs[0], events: Int16(POLLIN), revents: 0)
            guard poll(&ready, 1, 1000) >= 0 else { break }
            if ready.revents == 0 { continue }
            let count = chunk.withUnsafeMutableBytes { read(pipeFDs[0], $0.baseAddress, $0.count) }
            if count <= 0 { break }
            output.append(contentsOf: chunk[0..<count])
        }
        var exitStatus: CInt = 0
        waitpid(pid, &exitStatus, 0)
        return String(decoding: output, as: UTF8.self)
    }
}
