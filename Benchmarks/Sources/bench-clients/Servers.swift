import Foundation

/// The peer servers and tools the benchmark starts, each a child process stopped by pid. Spawned with
/// posix_spawn and reaped with waitpid, not Foundation's `Process`, whose child monitor was seen to miss
/// exits here (a run then hung waiting for a child that was already a zombie).
final class ChildServer {
    let pid: pid_t
    let directory: String

    init(_ arguments: [String], directory: String) throws {
        self.directory = directory
        guard let pid = spawnChild(arguments, output: nil) else { throw CocoaError(.executableLoad) }
        self.pid = pid
    }

    func stop() {
        kill(pid, SIGKILL)
        var status: Int32 = 0
        _ = waitpid(pid, &status, 0)
        try? FileManager.default.removeItem(atPath: directory)
    }
}

/// Starts `arguments` (looked up on PATH) with standard input and error on /dev/null and standard output
/// on `output` (or /dev/null).
func spawnChild(_ arguments: [String], output: Int32?) -> pid_t? {
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
    if let output { posix_spawn_file_actions_adddup2(&actions, output, 1) } else { posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0) }
    posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
    let argv = arguments.map { strdup($0) } + [nil]
    defer { for pointer in argv { free(pointer) } }
    var pid = pid_t()
    guard posix_spawnp(&pid, arguments[0], &actions, nil, argv, environ) == 0 else { return nil }
    return pid
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
    var fds: [Int32] = [-1, -1]
    guard pipe(&fds) == 0 else { return "" }
    // Close-on-exec, so no other child keeps the write end open (the reader would never see EOF).
    for fd in fds { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
    guard let pid = spawnChild(arguments, output: fds[1]) else {
        close(fds[0])
        close(fds[1])
        return ""
    }
    close(fds[1])
    var output: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 4096)
    while true {
        let count = read(fds[0], &buffer, buffer.count)
        if count > 0 { output += buffer[..<count] } else if count < 0 && errno == EINTR { continue } else { break }
    }
    close(fds[0])
    var status: Int32 = 0
    _ = waitpid(pid, &status, 0)
    return String(decoding: output, as: UTF8.self)
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
