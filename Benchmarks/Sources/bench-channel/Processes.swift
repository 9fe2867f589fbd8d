import BenchSupport

#if canImport(Glibc)
import Glibc
#endif

// Process plumbing for bench-channel: spawn, wait, stop by pid, ports.

func executable() -> String {
    var buffer = [UInt8](repeating: 0, count: Int(PATH_MAX) + 1)
    let length = buffer.withUnsafeMutableBufferPointer { pointer in
        pointer.withMemoryRebound(to: CChar.self) { readlink("/proc/self/exe", $0.baseAddress!, $0.count - 1) }
    }
    return length > 0 ? String(decoding: buffer[0..<length], as: UTF8.self) : CommandLine.arguments[0]
}

func which(_ name: String) -> String? {
    let path = getenv("PATH").map { String(cString: $0) } ?? "/usr/bin:/bin"
    return path.split(separator: ":").map { "\($0)/\(name)" }.first { access($0, X_OK) == 0 }
}

func nproc() -> Int { Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))) }

func temporaryDirectory() -> String {
    let base = getenv("TMPDIR").map { String(cString: $0) } ?? P_tmpdir
    var template = Array("\(base)/bench-channel-XXXXXX".utf8CString)
    guard let made = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) else {
        fatalError("mkdtemp failed")
    }
    return String(cString: made)
}

func readText(_ path: String) -> String? {
    let fd = open(path, O_RDONLY)
    guard fd >= 0 else { return nil }
    defer { close(fd) }
    var bytes: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 65536)
    while true {
        let count = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        if count <= 0 { break }
        bytes += chunk[0..<count]
    }
    return String(decoding: bytes, as: UTF8.self)
}

/// Starts `command` with its output to `output`; the process is ours to stop.
func launch(_ command: [String], output: String) -> pid_t {
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
    posix_spawn_file_actions_addopen(&actions, 1, output, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
    posix_spawn_file_actions_adddup2(&actions, 1, 2)
    var arguments: [UnsafeMutablePointer<CChar>?] = command.map { strdup($0) } + [nil]
    defer { arguments.forEach { free($0) } }
    var pid: pid_t = 0
    let status = posix_spawn(&pid, command[0], &actions, nil, &arguments, environ)
    guard status == 0 else { fatalError("cannot start \(command[0]): \(status)") }
    return pid
}

/// Waits for `pid` at most `seconds`; false if it is still running.
func waitExit(_ pid: pid_t, seconds: Double) -> Bool {
    let deadline = Deadline(secondsFromNow: seconds)
    while !deadline.hasPassed {
        var status: CInt = 0
        if waitpid(pid, &status, WNOHANG) == pid { return true }
        usleep(5_000)
    }
    return false
}

/// SIGINT, then SIGKILL after 5 s.
func stop(_ pid: pid_t) {
    kill(pid, SIGINT)
    if !waitExit(pid, seconds: 5) {
        kill(pid, SIGKILL)
        _ = waitExit(pid, seconds: 5)
    }
}

/// Waits until something accepts connections on 127.0.0.1:`port` (30 s at most).
func waitForPort(_ port: Int) {
    let deadline = Deadline(secondsFromNow: 30)
    while !deadline.hasPassed {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = UInt16(port).bigEndian
        address.sin_addr.s_addr = UInt32(0x7f00_0001).bigEndian
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
        }
        close(fd)
        if connected { return }
        usleep(10_000)
    }
    fatalError("nothing listens on port \(port)")
}

extension String {
    func padding(to width: Int) -> String { self + String(repeating: " ", count: max(0, width - count)) }

    func trimmingCharacters() -> String {
        String(drop { $0 == " " || $0 == "\t" }.reversed().drop { $0 == " " || $0 == "\t" }.reversed())
    }
}
