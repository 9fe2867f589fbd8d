import WorkermanEventLoop
import WorkermanTransport

#if canImport(Glibc)
import Glibc
#endif

/// One child process's live record on the status board: who it is, its counters and what its loop is
/// doing. Plain integers in a fixed layout, the same in every process of one executable.
public struct SlotRecord {
    /// 0 free, 1 starting, 2 running, 3 stopping.
    public var state: UInt32 = 0
    public var workerIndex: Int32 = -1
    public var workerID: Int32 = -1
    public var pid: Int32 = 0
    /// Wall-clock seconds when the process started.
    public var startedAt: Int64 = 0
    public var statistics = TransportStatistics()
    public var activity = ActivityRecord()
    /// Set by a child that leaves to be replaced (`maxRequests`, `maxMemory`): why, as
    /// `recycledForRequests` or `recycledForMemory`; 0 otherwise.
    public var recycled: UInt32 = 0

    public static let recycledForRequests: UInt32 = 1
    public static let recycledForMemory: UInt32 = 2

    public static let free: UInt32 = 0
    public static let starting: UInt32 = 1
    public static let running: UInt32 = 2
    public static let stopping: UInt32 = 3
}

/// Exit statuses the master saw for one worker: up to `capacity` distinct raw wait statuses with counts.
public struct ExitRecord {
    public static let capacity = 8
    public var statuses: (Int32, Int32, Int32, Int32, Int32, Int32, Int32, Int32) = (0, 0, 0, 0, 0, 0, 0, 0)
    public var counts: (Int64, Int64, Int64, Int64, Int64, Int64, Int64, Int64) = (0, 0, 0, 0, 0, 0, 0, 0)
    public var used: Int32 = 0
    /// Children of this worker the master started again after they died (not reloads or recycling).
    public var restarts: Int64 = 0
    /// Children of this worker replaced after `maxRequests` or `maxMemory`.
    public var recycles: Int64 = 0
}

/// The board's header.
struct BoardHeader {
    static let magic: UInt64 = 0x5752_4b4d_4e42_4431  // "WRKMNBD1"
    var magic: UInt64 = BoardHeader.magic
    var masterPID: Int32 = 0
    var slotCount: Int32 = 0
    var workerCount: Int32 = 0
    var reserved: Int32 = 0
    var startedAt: Int64 = 0
}

/// A shared-memory file: the master creates it next to the pid file, every child maps
/// its own slot and its loop writes counters and activity there as it runs; `status` maps it read-only
/// and renders it at once. Nobody is signalled or waited for, so a stuck worker shows *where* it is stuck.
public final class StatusBoard {
    public let path: String
    let base: UnsafeMutableRawPointer
    let size: Int
    let writable: Bool

    static let headerSize = (MemoryLayout<BoardHeader>.stride + 63) & ~63
    static let slotSize = (MemoryLayout<SlotRecord>.stride + 63) & ~63
    static let exitSize = (MemoryLayout<ExitRecord>.stride + 63) & ~63

    /// Creates (or truncates) the board for `slots` children of `workers` workers. Master only.
    public static func create(path: String, slots: Int, workers: Int, masterPID: pid_t) throws(ProcessError) -> StatusBoard {
        let size = byteCount(slots: slots, workers: workers)
        let mapped: UnsafeMutableRawPointer
        do {
            let fd = try Syscalls.open(path, O_RDWR | O_CREAT | O_TRUNC, mode: 0o644)
            defer { try? Syscalls.close(fd) }
            try Syscalls.truncate(fd, size: size)
            mapped = try Syscalls.mapShared(fd, size: size, writable: true)
        } catch {
            throw ProcessError(.fileUnwritable, "create status file \(path)", cause: error)
        }
        let board = StatusBoard(path: path, base: mapped, size: size, writable: true)
        board.initialize(slots: slots, workers: workers, masterPID: masterPID)
        return board
    }

    /// A board in memory only, shared with children forked after it but with no file `status` could
    /// open: for tests of what reads a board (`StatusReport`), and for programs that want counters
    /// without a status file.
    public static func inMemory(slots: Int, workers: Int, masterPID: pid_t) throws(ProcessError) -> StatusBoard {
        let size = byteCount(slots: slots, workers: workers)
        do {
            let mapped = try Syscalls.mapShared(nil, size: size, writable: true)
            let board = StatusBoard(path: "", base: mapped, size: size, writable: true)
            board.initialize(slots: slots, workers: workers, masterPID: masterPID)
            return board
        } catch {
            throw ProcessError(.fileUnwritable, "map an in-memory status board", cause: error)
        }
    }

    /// Opens an existing board: read-write in a child, read-only for `status`.
    public static func open(path: String, writable: Bool) throws(ProcessError) -> StatusBoard {
        let board: StatusBoard
        do {
            let fd = try Syscalls.open(path, writable ? O_RDWR : O_RDONLY)
            defer { try? Syscalls.close(fd) }
            let size = Int(try Syscalls.status(fd).st_size)
            guard size >= headerSize else {
                throw ProcessError(.notRunning, "open status file \(path)", detail: "empty or truncated")
            }
            board = StatusBoard(path: path, base: try Syscalls.mapShared(fd, size: size, writable: writable), size: size, writable: writable)
        } catch let error as ProcessError {
            throw error
        } catch {
            throw ProcessError(.notRunning, "open status file \(path)", cause: error as? Errno)
        }
        guard board.header.pointee.magic == BoardHeader.magic,
            board.size >= byteCount(slots: board.slotCount, workers: board.workerCount)
        else {
            throw ProcessError(.notRunning, "open status file \(path)", detail: "not a Workerman status file")
        }
        return board
    }

    private static func byteCount(slots: Int, workers: Int) -> Int {
        headerSize + slots * slotSize + workers * exitSize
    }

    private init(path: String, base: UnsafeMutableRawPointer, size: Int, writable: Bool) {
        self.path = path
        self.base = base
        self.size = size
        self.writable = writable
    }

    private func initialize(slots: Int, workers: Int, masterPID: pid_t) {
        base.initializeMemory(as: UInt8.self, repeating: 0, count: size)
        header.pointee = BoardHeader(
            masterPID: masterPID,
            slotCount: Int32(slots),
            workerCount: Int32(workers),
            startedAt: Int64(time(nil))
        )
        for slot in 0..<slots { self.slot(slot).initialize(to: SlotRecord()) }
        for worker in 0..<workers { exits(worker).initialize(to: ExitRecord()) }
    }

    deinit { Syscalls.unmap(base, size: size) }

    var header: UnsafeMutablePointer<BoardHeader> { base.assumingMemoryBound(to: BoardHeader.self) }

    public var masterPID: pid_t { header.pointee.masterPID }
    public var startedAt: Int64 { header.pointee.startedAt }
    public var slotCount: Int { Int(header.pointee.slotCount) }
    public var workerCount: Int { Int(header.pointee.workerCount) }

    /// The record of child slot `index`.
    public func slot(_ index: Int) -> UnsafeMutablePointer<SlotRecord> {
        precondition(index >= 0 && index < slotCount, "status slot \(index) of \(slotCount)")
        return (base + Self.headerSize + index * Self.slotSize).assumingMemoryBound(to: SlotRecord.self)
    }

    /// The exit statuses of worker `index`.
    public func exits(_ index: Int) -> UnsafeMutablePointer<ExitRecord> {
        precondition(index >= 0 && index < workerCount, "worker \(index) of \(workerCount)")
        return (base + Self.headerSize + slotCount * Self.slotSize + index * Self.exitSize)
            .assumingMemoryBound(to: ExitRecord.self)
    }

    /// Counts one exit of worker `index` with raw wait status `status` (master only).
    public func recordExit(worker index: Int, status: Int32) {
        let record = exits(index)
        withUnsafeMutableBytes(of: &record.pointee.statuses) { statuses in
            withUnsafeMutableBytes(of: &record.pointee.counts) { counts in
                let statusList = statuses.bindMemory(to: Int32.self)
                let countList = counts.bindMemory(to: Int64.self)
                let used = Int(record.pointee.used)
                if let found = (0..<used).first(where: { statusList[$0] == status }) {
                    countList[found] += 1
                } else if used < ExitRecord.capacity {
                    statusList[used] = status
                    countList[used] = 1
                    record.pointee.used += 1
                } else {
                    countList[used - 1] += 1  // the last bucket absorbs rare statuses past the capacity
                }
            }
        }
    }

    /// Exit statuses and counts of worker `index`.
    public func exitCounts(worker index: Int) -> [(status: Int32, count: Int64)] {
        var record = exits(index).pointee
        let used = Int(record.used)
        return withUnsafeBytes(of: &record.statuses) { statuses in
            withUnsafeBytes(of: &record.counts) { counts in
                (0..<used).map { (statuses.load(fromByteOffset: $0 * 4, as: Int32.self), counts.load(fromByteOffset: $0 * 8, as: Int64.self)) }
            }
        }
    }
}
