import WorkermanEventLoop
import WorkermanTransport

#if canImport(Glibc)
import Glibc
#endif

/// A blocking `frame://` client socket with a deadline on every step (connect, write, read), for the
/// blocking GlobalData client and blocking Channel publishes. Why non-blocking underneath: `poll` with a
/// timeout bounds each wait exactly, where `SO_RCVTIMEO` would restart on every partial read.
final class BlockingFrameSocket {
    let server: String
    let timeout: Double
    /// The largest reply accepted.
    var maxFrameSize = 64 * 1024 * 1024
    private var fd: CInt = -1

    init(server: String, timeout: Double) {
        self.server = server
        self.timeout = timeout
    }

    deinit { close() }

    var isOpen: Bool { fd >= 0 }

    func close() {
        if fd >= 0 { try? Syscalls.close(fd) }  // released either way on Linux
        fd = -1
    }

    /// Sends one frame and reads the reply frame's body.
    func exchange(_ body: ByteBuffer) throws(GlobalDataError) -> ByteBuffer {
        let deadline = Self.now() + timeout
        try send(body, deadline: deadline)
        return try receive(deadline: deadline)
    }

    /// Sends one frame (connecting first when needed). Any failure closes the socket, so the next call
    /// starts on a fresh connection.
    func send(_ body: ByteBuffer, deadline: Double? = nil) throws(GlobalDataError) {
        let deadline = deadline ?? Self.now() + timeout
        if fd < 0 { try open(deadline: deadline) }
        var frame = ByteBuffer(capacity: body.readableBytes + 4)
        let length = UInt32(body.readableBytes + 4)
        frame.append(contentsOf: [UInt8(length >> 24), UInt8(length >> 16 & 0xFF), UInt8(length >> 8 & 0xFF), UInt8(length & 0xFF)])
        frame.append(body)
        do {
            try frame.withReadableBytes { (bytes) throws(GlobalDataError) in try writeAll(bytes, deadline: deadline) }
        } catch {
            close()
            throw error
        }
    }

    /// Reads one frame's body.
    func receive(deadline: Double) throws(GlobalDataError) -> ByteBuffer {
        do throws(GlobalDataError) {
            let header = try read(count: 4, deadline: deadline)
            let length = Int(header[0]) << 24 | Int(header[1]) << 16 | Int(header[2]) << 8 | Int(header[3])
            guard length >= 4, length <= maxFrameSize else {
                throw GlobalDataError(.badReply, server: server, "frame length \(length) out of bounds")
            }
            return ByteBuffer(try read(count: length - 4, deadline: deadline))
        } catch {
            close()
            throw error
        }
    }

    // MARK: - Steps

    private func open(deadline: Double) throws(GlobalDataError) {
        let address = try resolve()
        let socket: CInt
        do {
            socket = try SocketCalls.socket(domain: address.family, type: CInt(SOCK_STREAM.rawValue))
        } catch {
            throw GlobalDataError(.unreachable, server: server, "socket: \(error)")
        }
        do {
            if try !SocketCalls.connect(socket, address) {
                guard try wait(socket, for: Int16(POLLOUT), until: deadline) else {
                    throw GlobalDataError(.timedOut, server: server, "connect: no answer within \(timeout) s")
                }
                let code = try SocketCalls.option(socket, SOL_SOCKET, SO_ERROR)
                if code != 0 { throw Errno(rawValue: code) }
            }
        } catch let error as GlobalDataError {
            try? Syscalls.close(socket)
            throw error
        } catch {
            try? Syscalls.close(socket)
            throw GlobalDataError(.unreachable, server: server, "connect: \(error)")
        }
        fd = socket
    }

    private func resolve() throws(GlobalDataError) -> SocketAddress {
        let url = server.hasPrefix("unix://") ? server : "frame://" + server
        let endpoint: Endpoint
        do {
            endpoint = try Endpoint(url)
            if let address = try endpoint.numericAddress() { return address }
        } catch {
            throw GlobalDataError(.invalidAddress, server: server, "\(error)")
        }
        // A host name: getaddrinfo blocks, which is what this client does anyway.
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = CInt(SOCK_STREAM.rawValue)
        var list: UnsafeMutablePointer<addrinfo>?
        let status = getaddrinfo(endpoint.host, String(endpoint.port), &hints, &list)
        defer { if list != nil { freeaddrinfo(list) } }
        guard status == 0, let first = list, let raw = first.pointee.ai_addr else {
            throw GlobalDataError(.unreachable, server: server, "cannot resolve \(endpoint.host): \(String(cString: gai_strerror(status)))")
        }
        var ip = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN) + 1)
        if first.pointee.ai_family == AF_INET6 {
            raw.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { pointer in
                var address = pointer.pointee.sin6_addr
                _ = inet_ntop(AF_INET6, &address, &ip, socklen_t(ip.count))
            }
        } else {
            raw.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { pointer in
                var address = pointer.pointee.sin_addr
                _ = inet_ntop(AF_INET, &address, &ip, socklen_t(ip.count))
            }
        }
        do {
            let text = String(decoding: ip.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            return try SocketAddress(ip: text, port: endpoint.port)
        } catch {
            throw GlobalDataError(.unreachable, server: server, "\(error)")
        }
    }

    private func writeAll(_ bytes: UnsafeRawBufferPointer, deadline: Double) throws(GlobalDataError) {
        var offset = 0
        while offset < bytes.count {
            let result: IOResult<Int>
            do {
                result = try SocketCalls.send(fd, UnsafeRawBufferPointer(rebasing: bytes[offset...]))
            } catch {
                throw GlobalDataError(.connectionLost, server: server, "send: \(error)")
            }
            if case .processed(let written) = result {
                offset += written
                continue
            }
            guard try wait(fd, for: Int16(POLLOUT), until: deadline) else {
                throw GlobalDataError(.timedOut, server: server, "send: not accepted within \(timeout) s")
            }
        }
    }

    private func read(count: Int, deadline: Double) throws(GlobalDataError) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: count)
        var offset = 0
        while offset < count {
            let result: IOResult<Int>
            do {
                result = try bytes.withUnsafeMutableBytes { (raw) throws(Errno) in
                    try Syscalls.read(fd, raw.baseAddress! + offset, count - offset)
                }
            } catch {
                throw GlobalDataError(.connectionLost, server: server, "recv: \(error)")
            }
            if case .processed(let received) = result {
                if received == 0 { throw GlobalDataError(.connectionLost, server: server, "the server closed the connection") }
                offset += received
                continue
            }
            guard try wait(fd, for: Int16(POLLIN), until: deadline) else {
                throw GlobalDataError(.timedOut, server: server, "no reply within \(timeout) s")
            }
        }
        return bytes
    }

    /// Waits until `socket` is ready for `events` or the deadline passes (false).
    private func wait(_ socket: CInt, for events: Int16, until deadline: Double) throws(GlobalDataError) -> Bool {
        while true {
            let remaining = deadline - Self.now()
            guard remaining > 0 else { return false }
            let milliseconds = CInt(min(remaining * 1000, 3_600_000).rounded(.up))
            do {
                if try Syscalls.waitUntilReady(socket, events: events, timeoutMilliseconds: milliseconds) { return true }
            } catch {
                throw GlobalDataError(.connectionLost, server: server, "poll: \(error)")
            }
        }
    }

    static func now() -> Double { Double(MonotonicClock.now()) / 1e9 }
}
