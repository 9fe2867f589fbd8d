// systemd's readiness protocol against a fake NOTIFY_SOCKET: a datagram socket of the test's, which the
// foreground master tells READY=1, RELOADING=1 then READY=1, and STOPPING=1.

import Testing
import WorkermanProcess
import WorkermanTestSupport

#if canImport(Glibc)
import Glibc
#endif

/// A bound unix datagram socket standing in for systemd's notification socket.
final class FakeNotifySocket {
    let path: String
    let fd: CInt
    private(set) var messages: [String] = []

    init(path: String) throws {
        self.path = path
        fd = socket(AF_UNIX, CInt(SOCK_DGRAM.rawValue) | CInt(SOCK_CLOEXEC.rawValue), 0)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { bytes in
            for (index, byte) in path.utf8.enumerated() { bytes[index] = byte }
        }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard fd >= 0, bound == 0 else { throw HarnessError("cannot bind \(path): errno \(errno)") }
    }

    deinit { close(fd) }

    /// Reads every datagram waiting, without blocking; all received so far.
    func receive() -> [String] {
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, CInt(MSG_DONTWAIT)) }
            guard count > 0 else { break }
            messages.append(String(decoding: buffer[0..<count], as: UTF8.self))
        }
        return messages
    }
}

extension ProcessTests {
    @Test func aFakeNotifySocketHearsReadyReloadingAndStopping() async throws {
        try await withTestServer { server in
            let notify = try FakeNotifySocket(path: "\(server.directory)/notify.sock")
            server.environment["NOTIFY_SOCKET"] = notify.path
            let command = try server.launch(["start"])
            try await server.waitUntilServing(3)
            try await waitUntil("READY=1") { notify.receive().contains { $0.hasPrefix("READY=1") } }
            #expect(notify.messages.first?.contains("MAINPID=\(command.pid)") == true, "\(notify.messages)")

            let reload = try await server.run(["reload"])
            #expect(reload.status == 0, "\(reload)")
            try await waitUntil("RELOADING=1 then READY=1", seconds: 10) {
                let messages = notify.receive()
                return messages.count >= 3 && messages[1].hasPrefix("RELOADING=1") && messages[2] == "READY=1"
            }
            #expect(notify.messages[1].contains("MONOTONIC_USEC="), "\(notify.messages)")

            kill(command.pid, SIGTERM)
            let ended = await server.finish(command)
            #expect(ended.status == 0, "\(ended)")
            #expect(notify.receive().last == "STOPPING=1", "\(notify.messages)")
        }
    }
}
