/// A timer's identity: a stable value (not an object), valid until the timer fires for the last time or
/// is cancelled. Ids of cancelled or finished timers never match a later timer.
public struct TimerID: Hashable, Sendable, CustomStringConvertible {
    /// Slot index in the low 32 bits, the slot's generation in the high 32.
    public let rawValue: UInt64

    init(slot: Int32, generation: UInt32) {
        rawValue = UInt64(generation) << 32 | UInt64(UInt32(bitPattern: slot))
    }

    var slot: Int32 { Int32(bitPattern: UInt32(truncatingIfNeeded: rawValue)) }
    var generation: UInt32 { UInt32(truncatingIfNeeded: rawValue >> 32) }

    public var description: String { "timer#\(slot).\(generation)" }
}

/// Timers on a min-heap of monotonic deadlines with stable ids (libuv `timer.c`, NIO `PriorityQueue`).
///
/// Timers live in a slab of slots reused through a free list; the heap holds (deadline, sequence, slot)
/// entries. Equal deadlines fire in the order they were scheduled (the sequence breaks ties).
///
/// Cancel is lazy (as Go's runtime timers): it frees the slot at once and leaves the heap entry behind as
/// *stale* (its sequence no longer matches the slot's), to be dropped when it reaches the top or by a
/// compaction once stale entries outnumber live ones. So sifting moves only the 24-byte entries of one
/// contiguous array, without writing a heap position into a slot at every level (a cache miss per level on
/// a big heap); cancel is O(1) amortised, and the heap never holds more than about twice the live timers.
/// Invariant: the top entry is never stale, so `nextDeadline` is exact.
///
/// No mutation releases a callback: `cancel`, `cancelAll` and `popDue` hand callbacks back, and the loop
/// drops them after the mutation ended. Releasing one may run a deinit that calls back into the loop (to
/// cancel another timer, say), which must not land in the middle of a heap operation.
struct TimerQueue {
    typealias Callback = () throws -> Void

    /// `Slot.queuedSequence` of a slot with no entry in the heap.
    private static let notQueued = UInt64.max
    /// Stale entries tolerated before a compaction is considered.
    private static let staleSlack = 64

    private struct Slot {
        var generation: UInt32 = 0
        var live = false
        var interval: UInt64 = 0  // 0 = once
        /// The sequence of this slot's entry in the heap, or `notQueued` (free, or a repeating timer that is
        /// firing). A heap entry whose sequence differs is stale.
        var queuedSequence: UInt64 = TimerQueue.notQueued
        var callback: Callback?
    }

    private struct Entry {
        var deadline: UInt64
        var sequence: UInt64
        var slot: Int32

        @inline(__always)
        func precedes(_ other: Entry) -> Bool {
            deadline < other.deadline || (deadline == other.deadline && sequence < other.sequence)
        }
    }

    private var slots: [Slot] = []
    private var freeSlots: [Int32] = []
    private var heap: [Entry] = []
    /// Entries in `heap` whose timer was cancelled.
    private var staleCount = 0
    private var nextSequence: UInt64 = 0
    private(set) var count = 0

    /// The earliest deadline, if any timer is queued.
    var nextDeadline: UInt64? { heap.first?.deadline }

    mutating func schedule(deadline: UInt64, interval: UInt64, _ callback: @escaping Callback) -> TimerID {
        let slot: Int32
        if let reused = freeSlots.popLast() {
            slot = reused
        } else {
            slot = Int32(slots.count)
            slots.append(Slot())
        }
        let sequence = takeSequence()
        slots[Int(slot)].live = true
        slots[Int(slot)].interval = interval
        slots[Int(slot)].queuedSequence = sequence
        slots[Int(slot)].callback = callback  // the slot's old callback is nil: `release` took it
        count += 1
        push(Entry(deadline: deadline, sequence: sequence, slot: slot))
        return TimerID(slot: slot, generation: slots[Int(slot)].generation)
    }

    /// Cancels a timer: `cancelled` is false if it already finished, was cancelled, or never existed. The
    /// caller drops the returned callback after this mutation.
    mutating func cancel(_ id: TimerID) -> (cancelled: Bool, callback: Callback?) {
        let slot = Int(id.slot)
        guard slot >= 0, slot < slots.count, slots[slot].live, slots[slot].generation == id.generation else {
            return (false, nil)
        }
        let wasQueued = slots[slot].queuedSequence != Self.notQueued
        let callback = release(slot)
        if wasQueued {
            staleCount += 1
            dropStaleTop()
            if staleCount > Self.staleSlack && staleCount > heap.count / 2 { compact() }
        }
        return (true, callback)
    }

    /// Cancels every timer; the caller drops the returned callbacks after this mutation.
    mutating func cancelAll() -> [Callback] {
        var callbacks: [Callback] = []
        // Repeating timers that are firing right now are not in the heap: release them too, so the
        // reschedule after their callback sees a stale generation.
        for slot in slots.indices where slots[slot].live {
            if let callback = release(slot) { callbacks.append(callback) }
        }
        heap.removeAll(keepingCapacity: true)
        staleCount = 0
        return callbacks
    }

    /// Marks the timers queued so far: `popDue(now:queuedBefore:)` with this mark leaves later ones alone.
    var queueMark: UInt64 { nextSequence }

    /// Takes the earliest timer if it is due at `now` and was queued before `mark`: its id, callback, and
    /// whether it repeats. A one-shot timer is finished (its id no longer valid) when taken; a repeating one
    /// stays live but unqueued until `reschedule`.
    ///
    /// The mark keeps a timer that a callback queues with zero delay for the next tick, also when the clock
    /// has not moved (a manual clock): without it, a timer that re-arms itself would never let the phase end.
    /// Stopping at the first later one is enough: its deadline is ≥ `now`, so no earlier-queued due timer can
    /// sort after it.
    mutating func popDue(now: UInt64, queuedBefore mark: UInt64) -> (id: TimerID, callback: Callback, repeats: Bool)? {
        guard let first = heap.first, first.deadline <= now, first.sequence < mark else { return nil }
        removeTop()
        let slot = Int(first.slot)
        slots[slot].queuedSequence = Self.notQueued
        dropStaleTop()
        let id = TimerID(slot: first.slot, generation: slots[slot].generation)
        if slots[slot].interval == 0 {
            return (id, release(slot)!, false)  // moved out of the slot: no retain and release
        }
        return (id, slots[slot].callback!, true)
    }

    /// Puts a repeating timer back at `now + interval` unless it was cancelled while firing.
    mutating func reschedule(_ id: TimerID, now: UInt64) {
        let slot = Int(id.slot)
        guard slots[slot].live, slots[slot].generation == id.generation,
            slots[slot].queuedSequence == Self.notQueued
        else { return }
        let (deadline, overflow) = now.addingReportingOverflow(slots[slot].interval)
        let sequence = takeSequence()
        slots[slot].queuedSequence = sequence
        push(Entry(deadline: overflow ? .max : deadline, sequence: sequence, slot: id.slot))
    }

    // MARK: - Slab

    /// Frees a live slot (its heap entry, if any, becomes stale) and returns its callback.
    private mutating func release(_ slot: Int) -> Callback? {
        let callback = slots[slot].callback.take()
        slots[slot].live = false
        slots[slot].queuedSequence = Self.notQueued
        slots[slot].generation &+= 1
        freeSlots.append(Int32(slot))
        count -= 1
        return callback
    }

    private mutating func takeSequence() -> UInt64 {
        defer { nextSequence &+= 1 }
        return nextSequence
    }

    @inline(__always)
    private func isStale(_ entry: Entry) -> Bool {
        slots[Int(entry.slot)].queuedSequence != entry.sequence
    }

    // MARK: - Heap

    private mutating func push(_ entry: Entry) {
        heap.append(entry)
        siftUp(heap.count - 1)
    }

    /// Floyd's pop: walk the hole at the root down to a leaf along the smaller children (one comparison a
    /// level instead of two), then sift the last entry up from there. It belongs near the bottom, so the
    /// climb is short.
    private mutating func removeTop() {
        let last = heap.removeLast()
        guard !heap.isEmpty else { return }
        let hole = heap.withUnsafeMutableBufferPointer { heap in
            var index = 0
            while let child = Self.earlierChild(of: index, in: heap) {
                heap[index] = heap[child]
                index = child
            }
            heap[index] = last
            return index
        }
        siftUp(hole)
    }

    /// Restores the invariant that the top is live.
    private mutating func dropStaleTop() {
        while let top = heap.first, isStale(top) {
            removeTop()
            staleCount -= 1
        }
    }

    /// Drops every stale entry and re-heapifies, O(n); run when stale entries outnumber live ones, so its
    /// cost is spread over at least as many cancels.
    private mutating func compact() {
        var kept = 0
        for index in heap.indices where !isStale(heap[index]) {
            heap[kept] = heap[index]
            kept += 1
        }
        heap.removeLast(heap.count - kept)
        staleCount = 0
        var index = kept / 2 - 1
        while index >= 0 {
            siftDown(index)
            index -= 1
        }
    }

    private mutating func siftUp(_ start: Int) {
        heap.withUnsafeMutableBufferPointer { heap in
            var index = start
            let entry = heap[index]
            while index > 0 {
                let parent = (index - 1) / 2
                guard entry.precedes(heap[parent]) else { break }
                heap[index] = heap[parent]
                index = parent
            }
            heap[index] = entry
        }
    }

    private mutating func siftDown(_ start: Int) {
        heap.withUnsafeMutableBufferPointer { heap in
            var index = start
            let entry = heap[index]
            while let child = Self.earlierChild(of: index, in: heap), heap[child].precedes(entry) {
                heap[index] = heap[child]
                index = child
            }
            heap[index] = entry
        }
    }

    /// The child of `index` that comes first, or nil at a leaf; shared by both ways down the heap.
    @inline(__always)
    private static func earlierChild(of index: Int, in heap: UnsafeMutableBufferPointer<Entry>) -> Int? {
        let left = 2 * index + 1
        guard left < heap.count else { return nil }
        let right = left + 1
        return right < heap.count && heap[right].precedes(heap[left]) ? right : left
    }
}
