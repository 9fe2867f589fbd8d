import WorkermanTestSupport
import WorkermanTransport

#if canImport(Glibc)
import Glibc
#endif

/// A `redis-server` on a loopback port for one test, stopped by pid (`stop`); `restart` starts a new
/// one on the same port (after a kill).
final class RedisServerProcess {
    let port: Int
    let directory: String
    private(set) var pid: pid_t = 0
    /// Further `redis-server` options (`--rename-command HELLO ""`, say).
    let options: [String]

    static var binary: String? { findProgram("redis-server") }

    init(options: [String] = []) throws {
        self.options = options
        guard Self.binary != nil else { throw TestError("redis-server is not installed") }
        directory = try TestFiles.makeTemporaryDirectory("wm-redis-client")
        port = try freeLoopbackPort()
        try start()
    }

    var address: String { "127.0.0.1:\(port)" }

    func start() throws {
        pid = try ChildProcess.spawn(
            Self.binary!,
            ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", directory] + options,
            output: .file("\(directory)/redis.log", append: true)
        )
        let port = self.port
        guard WaitUntil.holds(within: 10, { isListening(port) }) else {
            ChildProcess.killAndReap(pid)
            throw TestError("redis-server did not listen on \(port): \(TestFiles.readText("\(directory)/redis.log") ?? "")")
        }
    }

    /// SIGKILL, as a crash: no goodbye to clients.
    func kill() {
        ChildProcess.killAndReap(pid)
    }

    func stop() {
        ChildProcess.killAndReap(pid)
        TestFiles.removeTree(directory)
    }
}

struct TestError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// The full path of `name` on `PATH`.
func findProgram(_ name: String) -> String? {
    let path = getenv("PATH").map { String(cString: $0) } ?? "/usr/bin:/bin"
    for directory in path.split(separator: ":") where access("\(directory)/\(name)", X_OK) == 0 {
        return "\(directory)/\(name)"
    }
    for directory in ["/usr/sbin", "/sbin"] where access("\(directory)/\(name)", X_OK) == 0 { return "\(directory)/\(name)" }
    return nil
}

/// A port nobody listens on now (bind to 0, read it, close).
func freeLoopbackPort() throws -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { throw TestError("socket failed") }
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    address.sin_port = 0
    let bound = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    }
    guard bound == 0 else { throw TestError("bind failed") }
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    _ = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
    }
    return Int(UInt16(bigEndian: address.sin_port))
}

/// Whether something accepts TCP connections on 127.0.0.1:`port`.
func isListening(_ port: Int) -> Bool {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { return false }
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    address.sin_port = in_port_t(UInt16(port).bigEndian)
    return withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    } == 0
}
