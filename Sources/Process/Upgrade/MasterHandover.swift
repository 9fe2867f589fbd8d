import WorkermanEventLoop

#if canImport(Glibc)
import Glibc
#endif

/// What an upgrading master hands the master it starts (nginx's binary upgrade): the listening sockets
/// as inherited descriptors, each named with the worker and address it belongs to, and the write end of
/// a pipe the new master answers "ready" on once its children serve.
///
/// It travels in two environment variables, so a new binary that does not know them simply binds its
/// own sockets (and fails on a port still in use, which leaves the old master serving):
///
/// ```
/// WORKERMAN_INHERITED=7 worker 0 tcp://0.0.0.0:8080
///                     8 metrics 127.0.0.1:9100
/// WORKERMAN_UPGRADE_READY=9
/// ```
struct MasterHandover: Equatable {
    struct Socket: Equatable {
        /// The descriptor in the new master.
        var fd: CInt
        /// `worker N` (plan position) or `metrics`.
        var role: String
        /// The address as the program spelled it; the new master adopts a socket only for the same one.
        var address: String
    }

    static let listenersVariable = "WORKERMAN_INHERITED"
    static let readyVariable = "WORKERMAN_UPGRADE_READY"

    var sockets: [Socket] = []
    /// Where to write `ready` (a pipe's write end), or -1.
    var readyFD: CInt = -1

    /// The inherited socket of plan position `index` when its address is still `address`.
    func listener(worker index: Int, address: String?) -> CInt? {
        sockets.first { $0.role == "worker \(index)" && $0.address == address }?.fd
    }

    func metrics(address: String?) -> CInt? {
        sockets.first { $0.role == "metrics" && $0.address == address }?.fd
    }

    /// The environment variables that carry this handover.
    var environment: [String: String] {
        let lines = sockets.map { "\($0.fd) \($0.role) \($0.address)" }
        return [Self.listenersVariable: lines.joined(separator: "\n"), Self.readyVariable: String(readyFD)]
    }

    /// Reads a handover from a master's role variables; nil when this master was not started by an upgrade.
    /// A line that does not parse is skipped: that socket is then bound afresh.
    init?(role: [String: String]) {
        guard let ready = role[Self.readyVariable].flatMap(CInt.init) else { return nil }
        readyFD = ready
        for line in (role[Self.listenersVariable] ?? "").split(separator: "\n") {
            let words = line.split(separator: " ", maxSplits: 1)
            guard words.count == 2, let fd = CInt(words[0]) else { continue }
            let rest = words[1]
            if rest.hasPrefix("metrics ") {
                sockets.append(Socket(fd: fd, role: "metrics", address: String(rest.dropFirst(8))))
            } else if rest.hasPrefix("worker ") {
                let parts = rest.dropFirst(7).split(separator: " ", maxSplits: 1)
                guard parts.count == 2, let index = Int(parts[0]) else { continue }
                sockets.append(Socket(fd: fd, role: "worker \(index)", address: String(parts[1])))
            }
        }
    }

    init(sockets: [Socket], readyFD: CInt) {
        self.sockets = sockets
        self.readyFD = readyFD
    }

    /// Tells the old master this one serves: one byte on the pipe, then the pipe closed. Best effort: an
    /// old master that is gone has nobody left to tell.
    func announceReady() {
        guard readyFD >= 0 else { return }
        var byte = UInt8(ascii: "R")
        _ = try? Syscalls.write(readyFD, &byte, 1)
        try? Syscalls.close(readyFD)
    }
}
