import WorkermanEventLoop
import WorkermanTestSupport
import WorkermanTransport
import XCTest

#if canImport(Glibc)
import Glibc
#endif

/// A real client (curl, openssl, python3) run as a child while the test's loop serves it.
struct ChildRun {
    let code: CInt?
    let output: String
}

extension LoopHarness {
    /// Runs `argv` (looked up on PATH, standard error with standard output) until it exits, at most
    /// `seconds`, serving the loop meanwhile; killed past the bound (code nil).
    func runChild(_ argv: [String], in directory: String, within seconds: Double = 20) throws -> ChildRun {
        let output = directory + "/child-\(UInt32.random(in: 0...UInt32.max)).out"
        let pid = try ChildProcess.spawn(argv[0], Array(argv.dropFirst()), output: .file(output, append: false), errors: .output, searchPath: true)
        var status: CInt?
        _ = try run(
            until: {
                if case .exited(let raw) = ChildProcess.reap(pid) { status = raw }
                return status != nil
            },
            within: seconds
        )
        if status == nil { ChildProcess.killAndReap(pid) }
        return ChildRun(code: status.map { ChildProcess.exitCode($0) }, output: TestFiles.readText(output) ?? "")
    }
}

/// Whether `program` is on PATH.
func toolExists(_ program: String) -> Bool {
    let pid = try? ChildProcess.spawn("/bin/sh", ["-c", "command -v \(program)"])
    return pid.map { ChildProcess.waitForExit($0, seconds: 5) == 0 } ?? false
}

/// A plain TCP socket to 127.0.0.1:`port`, connected (blocking), for raw bad input.
func rawConnection(to port: Int) throws -> CInt {
    let fd = socket(AF_INET, CInt(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { throw Errno(rawValue: errno) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = in_port_t(UInt16(port).bigEndian)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    let result = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    }
    guard result == 0 else {
        let error = Errno(rawValue: errno)
        close(fd)
        throw error
    }
    return fd
}

/// A test case over real sockets with TLS: the test certificates (the test skips when openssl cannot
/// make them) and a loop harness, checked at the end for connections left open.
class TLSLoopTestCase: XCTestCase {
    var certificates: TestCertificates!
    var harness: LoopHarness!

    override func setUpWithError() throws {
        certificates = try TestCertificates.require()
        harness = try LoopHarness()
    }

    override func tearDown() {
        if let harness { XCTAssertEqual(harness.finishClosingConnections(), []) }
        harness = nil
    }
}
