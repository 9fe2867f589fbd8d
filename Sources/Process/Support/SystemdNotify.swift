#if canImport(Glibc)
import Glibc
#endif

/// systemd's readiness protocol without libsystemd: when the service manager set `NOTIFY_SOCKET`, the
/// master sends it one datagram per state change (`READY=1` once children are started, `RELOADING=1`
/// and `READY=1` around a reload, `STOPPING=1` at stop). Without the variable it does nothing.
///
/// A unit for `start` in the foreground (see the README): `Type=notify` (or `Type=simple`),
/// `ExecStart=/srv/app start`, `ExecReload=/bin/kill -USR1 $MAINPID`.
enum SystemdNotify {
    /// Sends `state` (lines such as `READY=1`) to `NOTIFY_SOCKET`; whether it was sent.
    @discardableResult
    static func send(_ state: String, socketPath: String? = getenv("NOTIFY_SOCKET").map { String(cString: $0) }) -> Bool {
        guard let socketPath, socketPath.hasPrefix("/") || socketPath.hasPrefix("@") else { return false }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let path = Array(socketPath.utf8)
        let capacity = MemoryLayout.size(ofValue: address.sun_path)
        guard path.count < capacity else { return false }
        withUnsafeMutableBytes(of: &address.sun_path) { bytes in
            for (index, byte) in path.enumerated() { bytes[index] = byte }
            // "@name" is the abstract namespace: a leading NUL, and the length says where the name ends.
            if path.first == UInt8(ascii: "@") { bytes[0] = 0 }
        }
        let length = socklen_t(MemoryLayout<sockaddr_un>.offset(of: \.sun_path)! + path.count + (path.first == UInt8(ascii: "@") ? 0 : 1))
        let fd = socket(AF_UNIX, CInt(SOCK_DGRAM.rawValue) | CInt(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        let message = Array(state.utf8)
        let sent = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { target in
                message.withUnsafeBytes { sendto(fd, $0.baseAddress, $0.count, CInt(MSG_NOSIGNAL), target, length) }
            }
        }
        return sent == message.count
    }

    /// `RELOADING=1` with the monotonic time systemd 253+ asks for (`Type=notify-reload`).
    static func reloading() {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        send("RELOADING=1\nMONOTONIC_USEC=\(Int(now.tv_sec) * 1_000_000 + Int(now.tv_nsec) / 1000)")
    }
}
