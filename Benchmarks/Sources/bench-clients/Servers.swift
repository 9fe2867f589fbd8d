import Foundation

/// The peer servers and tools the benchmark starts, each a child process stopped by pid.
final class ChildServer {
    let process: Process
    let directory: String

    init(_ arguments: [String], directory: String) throws {
        self.directory = directory
        process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = arguments
        process.standardOutput = FileHandle(forWritingAtPath: "/dev/null")
        process.standardError = FileHandle(forWritingAtPath: "/dev/null")
        try process.run()
    }

    func stop() {
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
        try? FileManager.default.removeItem(atPath: directory)
    }
}

func which(_ name: String) -> String? {
    let path = (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":").map(String.init)
    for directory in path + ["/usr/sbin", "/sbin"] {
        let path = "\(directory)/\(name)"
        if FileManager.default.isExecutableFile(atPath: path) { return path }
    }
    return nil
}

func temporaryDirectory(_ prefix: String) -> String {
    let path = NSTemporaryDirectory() + "\(prefix)-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
    try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}

/// Runs a command to its end and returns its standard output.
func capture(_ arguments: [String]) -> String {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = arguments
    let pipe = Pipe()
    process.standardOutput = pipe
    process.standardError = FileHandle(forWritingAtPath: "/dev/null")
    guard (try? process.run()) != nil else { return "" }
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return String(decoding: data, as: UTF8.self)
}

func freePort() -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    _ = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) } }
    return Int(UInt16(bigEndian: address.sin_port))
}

func waitForTCP(_ port: Int, seconds: Double = 10) -> Bool {
    let deadline = Date().addingTimeInterval(seconds)
    while Date() < deadline {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        close(fd)
        if connected == 0 { return true }
        usleep(20_000)
    }
    return false
}

/// nginx serving one small file on `port`, pinned to CPU 0 when there are two or more.
func startNginx(port: Int) throws -> ChildServer? {
    guard let nginx = which("nginx") else { return nil }
    let directory = temporaryDirectory("bench-nginx")
    try String(repeating: "x", count: 128).write(toFile: "\(directory)/index.html", atomically: true, encoding: .utf8)
    let configuration = """
        daemon off; master_process off; worker_processes 1; pid \(directory)/nginx.pid; error_log \(directory)/error.log;
        events { worker_connections 1024; }
        http { access_log off; keepalive_requests 1000000; client_body_temp_path \(directory); proxy_temp_path \(directory);
            fastcgi_temp_path \(directory); uwsgi_temp_path \(directory); scgi_temp_path \(directory);
            server { listen 127.0.0.1:\(port); root \(directory); } }
        """
    try configuration.write(toFile: "\(directory)/nginx.conf", atomically: true, encoding: .utf8)
    let pin = ProcessInfo.processInfo.activeProcessorCount > 1 && which("taskset") != nil ? ["taskset", "-c", "0"] : []
    let server = try ChildServer(pin + [nginx, "-c", "\(directory)/nginx.conf", "-p", directory, "-e", "\(directory)/error.log"], directory: directory)
    guard waitForTCP(port) else {
        server.stop()
        return nil
    }
    return server
}

/// Keeps this process (the client side) on CPU 1 when there are two or more (threads made later inherit
/// it). Through taskset: glibc's `sched_setaffinity` needs _GNU_SOURCE, which the Swift module lacks.
func pinToSecondCPU() {
    guard ProcessInfo.processInfo.activeProcessorCount > 1, which("taskset") != nil else { return }
    _ = capture(["taskset", "-p", "-c", "1", String(getpid())])
}
