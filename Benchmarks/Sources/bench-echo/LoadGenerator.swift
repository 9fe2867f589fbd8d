import WorkermanEventLoop

#if canImport(Glibc)
import Glibc
#endif

/// A bounded echo load: `connections` sockets, each keeping `window` messages of `size` bytes in flight,
/// counting echoed messages until `duration` seconds pass or `limit` messages are echoed. Plain
/// syscalls on one epoll loop, so the client's cost is small and the same for every server.
struct EchoLoad {
    var connections = 100
    var size = 64
    var window = 1
    var duration = 5.0
    var limit = 50_000_000

    struct Result {
        var messages: Int
        var seconds: Double
        var perSecond: Double { Double(messages) / seconds }
    }

    func run(port: Int) throws -> Result {
        let loop = try EventLoop()
        var sockets: [CInt] = []
        defer {
            for fd in sockets {
                loop.unwatch(fd)
                close(fd)
            }
            loop.close()
        }
        let payload = [UInt8](repeating: UInt8(ascii: "x"), count: size * window)
        var buffer = [UInt8](repeating: 0, count: 65536)
        var pendingBytes = [Int](repeating: 0, count: connections)
        var echoed = 0
        var started: UInt64 = 0
        var finished = false

        for index in 0..<connections {
            let fd = socket(AF_INET, CInt(SOCK_STREAM.rawValue), 0)
            guard fd >= 0 else { throw Errno(rawValue: errno) }
            sockets.append(fd)
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_port = in_port_t(UInt16(port).bigEndian)
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            let result = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
            guard result == 0 else { throw Errno(rawValue: errno) }
            var one: CInt = 1
            setsockopt(fd, CInt(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<CInt>.size))
            _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
            try loop.watch(fd, for: .readable) { _ in
                let count = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
                guard count > 0 else {
                    if count == 0 || errno != EAGAIN { loop.stop() }
                    return
                }
                pendingBytes[index] += count
                let complete = pendingBytes[index] / size
                guard complete > 0 else { return }
                pendingBytes[index] -= complete * size
                echoed += complete
                if echoed >= limit || (echoed & 1023 == 0 && MonotonicClock.now() - started >= UInt64(duration * 1e9)) {
                    finished = true
                    loop.stop()
                    return
                }
                _ = payload.withUnsafeBytes { write(fd, $0.baseAddress, complete * size) }
            }
        }
        let timeLimit = try loop.addTimer(after: duration) {
            finished = true
            loop.stop()
        }
        started = MonotonicClock.now()
        for fd in sockets {
            _ = payload.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        }
        try loop.run(.untilStopped)
        loop.cancelTimer(timeLimit)
        let seconds = Double(MonotonicClock.now() - started) / 1e9
        guard finished else { throw Errno(rawValue: ECONNRESET) }
        return Result(messages: echoed, seconds: seconds)
    }
}
