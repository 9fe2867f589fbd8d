// Helpers for the supervision tests: the status board's slot states, the test server's reload notes,
// process identities from /proc, a port reserved for SO_REUSEPORT workers, and listening sockets by inode.

import Testing
import WorkermanProcess

#if canImport(Glibc)
import Glibc
#endif

extension TestServer {
    /// Every live process on the status board: pid, worker index (0 echo, 1 ticker) and slot state.
    func slotStates() -> [(pid: pid_t, worker: Int, state: UInt32)] {
        guard let board = try? StatusBoard.open(path: statusFile, writable: false) else { return [] }
        var found: [(pid_t, Int, UInt32)] = []
        for index in 0..<board.slotCount {
            let record = board.slot(index).pointee
            if record.pid > 0, isAlive(record.pid) {
                track(record.pid)
                found.append((record.pid, Int(record.workerIndex), record.state))
            }
        }
        return found
    }

    /// The board's state of `pid` (`SlotRecord.running`, `.stopping`, …); nil when it is not there.
    func slotState(of pid: pid_t) -> UInt32? { slotStates().first { $0.pid == pid }?.state }

    /// The running ticker process.
    func tickerChild() -> pid_t? { runningChildren().first { $0.worker == 1 }?.pid }

    /// How many reloads process `pid` of `worker` saw (its `onWorkerReload` notes one line each).
    func reloadCount(worker: String, pid: pid_t) -> Int {
        (readFile("\(directory)/reloaded.\(worker).\(pid)") ?? "").split(separator: "\n").count
    }

    /// How many times the log contains `text`.
    func logCount(_ text: String) -> Int {
        var count = 0
        var rest = log[...]
        while let range = rest.firstRange(of: text) {
            count += 1
            rest = rest[range.upperBound...]
        }
        return count
    }
}

// MARK: - Identities

/// Real uid and gid and the supplementary groups of a process, from `/proc/PID/status`.
struct ProcessIdentity: Equatable {
    let uid: uid_t
    let gid: gid_t
    let groups: [gid_t]

    init?(pid: pid_t) {
        guard let text = readFile("/proc/\(pid)/status") else { return nil }
        func field(_ name: String) -> [UInt32]? {
            text.split(separator: "\n").first { $0.hasPrefix(name + ":") }.map { line in
                line.dropFirst(name.count + 1).split(whereSeparator: { $0 == " " || $0 == "\t" }).compactMap { UInt32($0) }
            }
        }
        // Uid: real, effective, saved, filesystem: all four must have switched.
        guard let uids = field("Uid"), let gids = field("Gid"), uids.count == 4, gids.count == 4,
            Set(uids).count == 1, Set(gids).count == 1
        else { return nil }
        uid = uids[0]
        gid = gids[0]
        groups = field("Groups") ?? []
    }

    init(uid: uid_t, gid: gid_t, groups: [gid_t]) {
        self.uid = uid
        self.gid = gid
        self.groups = groups
    }
}

// MARK: - Ports for SO_REUSEPORT workers

/// A TCP socket bound with `SO_REUSEPORT` to 127.0.0.1 but not listening: it keeps the port from anyone
/// else while `SO_REUSEPORT` workers (same user) bind and listen on it, and it never takes a connection
/// itself (the kernel only hands connections to listening sockets). Workers with `reusePort` bind in each
/// process, so port 0 would give each its own port: this is how a test gets one free port for all.
final class ReusePortReservation {
    let fd: CInt
    let port: UInt16

    /// Reserves `port`, or any free port for 0.
    init(port: UInt16 = 0) throws {
        let fd = socket(AF_INET, CInt(SOCK_STREAM.rawValue) | CInt(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw HarnessError("socket: errno \(errno)") }
        var on: CInt = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, socklen_t(MemoryLayout<CInt>.size))
        setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &on, socklen_t(MemoryLayout<CInt>.size))
        guard let bound = bindLoopback(fd, port: port) else {
            let error = errno
            close(fd)
            throw HarnessError("cannot reserve port \(port): errno \(error)")
        }
        self.fd = fd
        self.port = bound
    }

    /// A free privileged port (below 1024), reserved; nil if none of those tried is free.
    static func privileged() -> ReusePortReservation? {
        for port in stride(from: UInt16(1023), through: 900, by: -1) {
            if let reservation = try? ReusePortReservation(port: port) { return reservation }
        }
        return nil
    }

    deinit { close(fd) }
}

/// Inodes of the IPv4 TCP sockets listening on 127.0.0.1:`port` (`/proc/net/tcp`, state 0A).
func listeningSocketInodes(port: UInt16) -> Set<String> {
    guard let table = readFile("/proc/net/tcp") else { return [] }
    let hexPort = String(port, radix: 16, uppercase: true)
    let local = "0100007F:" + String(repeating: "0", count: 4 - hexPort.count) + hexPort
    var inodes = Set<String>()
    for line in table.split(separator: "\n").dropFirst() {
        let fields = line.split(separator: " ")
        // sl, local_address, rem_address, st, tx:rx queue, tr:when, retrnsmt, uid, timeout, inode
        if fields.count > 9, fields[1] == local, fields[3] == "0A" { inodes.insert(String(fields[9])) }
    }
    return inodes
}

/// Inodes of the sockets process `pid` holds open.
func socketInodes(of pid: pid_t) -> Set<String> {
    guard let directory = opendir("/proc/\(pid)/fd") else { return [] }
    defer { closedir(directory) }
    var inodes = Set<String>()
    var target = [CChar](repeating: 0, count: 256)
    while let entry = readdir(directory) {
        let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        guard Int(name) != nil else { continue }
        let length = readlink("/proc/\(pid)/fd/\(name)", &target, target.count - 1)
        guard length > 0 else { continue }
        let link = String(decoding: target[0..<length].map { UInt8(bitPattern: $0) }, as: UTF8.self)
        if link.hasPrefix("socket:[") { inodes.insert(String(link.dropFirst(8).dropLast())) }
    }
    return inodes
}
