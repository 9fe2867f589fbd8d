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
/// entries and every slot knows its heap position, so cancel is O(log n) with no hashing. Equal deadlines
/// fire in the order they were scheduled.
struct TimerQueue {
    typealias Callback = () throws -> Void

    private struct Slot {
        var generation: UInt32 = 0
        /// Position in `heap`, or -1 while not queued (free, or a repeating timer that is firing).
        var heapIndex: Int32 = -1
        var live = false
        var interval: UInt64 = 0  // 0 = once
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
        slots[Int(slot)].live = true
        slots[Int(slot)].interval = interval
        slots[Int(slot)].callback = callback
        count += 1
        push(Entry(deadline: deadline, sequence: takeSequence(), slot: slot))
        return TimerID(slot: slot, generation: slots[Int(slot)].generation)
    }

    /// Cancels a timer; false if it already finished, was cancelled, or never existed.
    mutating func cancel(_ id: TimerID) -> Bool {
        let slot = Int(id.slot)
        guard slot >= 0, slot < slots.count, slots[slot].live, slots[slot].generation == id.generation else {
            return false
        }
        let position = slots[slot].heapIndex
        if position >= 0 { remove(at: Int(position)) }
        release(slot)
        return true
    }

    mutating func cancelAll() {
        for entry in heap { release(Int(entry.slot)) }
        heap.removeAll(keepingCapacity: true)
        // Repeating timers that are firing right now are not in the heap: release them too, so the
        // reschedule after their callback sees a stale generation.
        for slot in slots.indices where slots[slot].live { release(slot) }
    }

    /// Takes the earliest timer if it is due at `now`: its id, callback, and whether it repeats. A one-shot
    /// timer is finished (its id no longer valid) when taken; a repeating one stays live but unqueued until
    /// `reschedule`.
    mutating func popDue(now: UInt64) -> (id: TimerID, callback: Callback, repeats: Bool)? {
        guard let first = heap.first, first.deadline <= now else { return nil }
        remove(at: 0)
        let slot = Int(first.slot)
        let id = TimerID(slot: first.slot, generation: slots[slot].generation)
        let callback = slots[slot].callback!
        if slots[slot].interval == 0 {
            release(slot)
            return (id, callback, false)
        }
        return (id, callback, true)
    }

    /// Puts a repeating timer back at `now + interval` unless it was cancelled while firing.
    mutating func reschedule(_ id: TimerID, now: UInt64) {
        let slot = Int(id.slot)
        guard slots[slot].live, slots[slot].generation == id.generation, slots[slot].heapIndex < 0 else { return }
        let (deadline, overflow) = now.addingReportingOverflow(slots[slot].interval)
        push(Entry(deadline: overflow ? .max : deadline, sequence: takeSequence(), slot: id.slot))
    }

    // MARK: - Slab

    private mutating func release(_ slot: Int) {
        slots[slot].live = false
        slots[slot].callback = nil
        slots[slot].heapIndex = -1
        slots[slot].generation &+= 1
        freeSlots.append(Int32(slot))
        count -= 1
    }

    private mutating func takeSequence() -> UInt64 {
        defer { nextSequence &+= 1 }
        return nextSequence
    }

    // MARK: - Heap

    private mutating func push(_ entry: Entry) {
        heap.append(entry)
        siftUp(heap.count - 1)
    }

    private mutating func remove(at index: Int) {
        let last = heap.count - 1
        slots[Int(heap[index].slot)].heapIndex = -1
        if index != last {
            heap[index] = heap[last]
            heap.removeLast()
            slots[Int(heap[index].slot)].heapIndex = Int32(index)
            siftDown(index)
            siftUp(index)
        } else {
            heap.removeLast()
        }
    }

    private mutating func siftUp(_ start: Int) {
        var index = start
        let entry = heap[index]
        while index > 0 {
            let parent = (index - 1) / 2
            guard entry.precedes(heap[parent]) else { break }
            heap[index] = heap[parent]
            slots[Int(heap[index].slot)].heapIndex = Int32(index)
            index = parent
        }
        heap[index] = entry
        slots[Int(entry.slot)].heapIndex = Int32(index)
    }

    private mutating func siftDown(_ start: Int) {
        var index = start
        let entry = heap[index]
        let count = heap.count
        while true {
            let left = 2 * index + 1
            guard left < count else { break }
            let right = left + 1
            let child = right < count && heap[right].precedes(heap[left]) ? right : left
            guard heap[child].precedes(entry) else { break }
            heap[index] = heap[child]
            slots[Int(heap[index].slot)].heapIndex = Int32(index)
            index = child
        }
        heap[index] = entry
        slots[Int(entry.slot)].heapIndex = Int32(index)
    }
}
