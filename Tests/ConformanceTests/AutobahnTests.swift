import Testing

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
            "BIN=\(Self.binaries)", "KOSOKU=\(Self.kosoku)",
        ])
        let lines = output.split(separator: "\n")
        let summary = lines.last.map(String.init) ?? ""
        #expect(summary == "602 passed, 0 failed", "Autobahn: \(lines.suffix(3).joined(separator: " | "))")
    }

    /// Runs a command to completion and returns its standard output.
    private func run(_ argv: [String], environment extra: [String]) throws -> String {
        var pipeFDs: [CInt] = [0, 0]
        #expect(pipe(&pipeFDs) == 0)
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, pipeFDs[1], 1)
        posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
        var environment: [UnsafeMutablePointer<CChar>?] = extra.map { strdup($0) }
        var entry = environ
        while let pointer = entry.pointee {
            environment.append(strdup(pointer))
            entry += 1
        }
        environment.append(nil)
        var arguments: [UnsafeMutablePointer<CChar>?] = argv.map { strdup($0) } + [nil]
        defer {
            environment.forEach { free($0) }
            arguments.forEach { free($0) }
        }
        var pid: pid_t = 0
        let status = posix_spawn(&pid, argv[0], &actions, nil, &arguments, &environment)
        close(pipeFDs[1])
        defer { close(pipeFDs[0]) }
        #expect(status == 0)
        var output: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = chunk.withUnsafeMutableBytes { read(pipeFDs[0], $0.baseAddress, $0.count) }
            if count <= 0 { break }
            output.append(contentsOf: chunk[0..<count])
        }
        var exitStatus: CInt = 0
        waitpid(pid, &exitStatus, 0)
        return String(decoding: output, as: UTF8.self)
    }
}
