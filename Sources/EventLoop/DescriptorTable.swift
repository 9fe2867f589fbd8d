/// The loop's fd → registration table: indexed by descriptor, with a generation per
/// registration that travels in the backend's user data, so an event for a descriptor that was closed and
/// reused is recognised as stale and dropped.
struct DescriptorTable {
    typealias Watcher = (IOEvents) throws -> Void

    struct Registration {
        var generation: UInt32 = 0
        var interest: IOEvents = []
        /// Whether the backend currently has the fd: an empty interest takes it out of the kernel's set,
        /// so a paused descriptor whose peer hung up cannot make a level-triggered poll spin.
        var inBackend = false
        /// Loop-owned descriptors (wake-up, signal pipe) do not keep `run(.untilIdle)` alive.
        var isInternal = false
        var watcher: Watcher?
    }

    private(set) var entries: [Registration] = []
    private var nextGeneration: UInt32 = 1
    /// Watched descriptors that are not the loop's own.
    private(set) var userCount = 0

    @inline(__always)
    func contains(_ fd: CInt) -> Bool {
        fd >= 0 && Int(fd) < entries.count && entries[Int(fd)].watcher != nil
    }

    @inline(__always)
    subscript(fd: CInt) -> Registration {
        get { entries[Int(fd)] }
        set { entries[Int(fd)] = newValue }
    }

    /// Claims `fd` with a fresh generation; the caller has checked it is not watched.
    mutating func insert(_ fd: CInt, interest: IOEvents, isInternal: Bool, watcher: @escaping Watcher) -> UInt64 {
        if Int(fd) >= entries.count {
            entries.append(contentsOf: repeatElement(Registration(), count: Int(fd) - entries.count + 1))
        }
        let generation = nextGeneration
        nextGeneration &+= 1
        if nextGeneration == 0 { nextGeneration = 1 }  // 0 never names a live registration
        entries[Int(fd)] = Registration(
            generation: generation,
            interest: interest,
            inBackend: !interest.isEmpty,
            isInternal: isInternal,
            watcher: watcher
        )
        if !isInternal { userCount += 1 }
        return Self.userData(fd: fd, generation: generation)
    }

    /// Forgets `fd` and hands its watcher back: the caller releases it after this mutation, because the
    /// release may run a deinit that calls back into the loop (the loop skips exclusivity checks on this table).
    @discardableResult
    mutating func remove(_ fd: CInt) -> Watcher? {
        guard contains(fd) else { return nil }
        if !entries[Int(fd)].isInternal { userCount -= 1 }
        let watcher = entries[Int(fd)].watcher.take()
        entries[Int(fd)] = Registration()
        return watcher
    }

    /// Forgets every descriptor and hands the registrations back, to be released after this mutation.
    mutating func removeAll() -> [Registration] {
        var removed: [Registration] = []
        swap(&removed, &entries)
        userCount = 0
        return removed
    }

    /// Descriptors currently watched, the loop's own included.
    var watchedDescriptors: [CInt] {
        entries.indices.filter { entries[$0].watcher != nil }.map { CInt($0) }
    }

    @inline(__always)
    static func userData(fd: CInt, generation: UInt32) -> UInt64 {
        UInt64(generation) << 32 | UInt64(UInt32(bitPattern: fd))
    }

    @inline(__always)
    static func split(_ userData: UInt64) -> (fd: CInt, generation: UInt32) {
        (CInt(bitPattern: UInt32(truncatingIfNeeded: userData)), UInt32(truncatingIfNeeded: userData >> 32))
    }
}
