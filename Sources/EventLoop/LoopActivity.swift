/// Which kind of callback a loop is running. Layers above add their own (`onMessage`, `onConnect`, …) as
/// static members, so `status` can say *where* a worker is stuck.
///
/// ```swift
/// extension ActivityCallback { static let onMessage = ActivityCallback(rawValue: 101, name: "onMessage") }
/// ```
public struct ActivityCallback: Hashable, Sendable, CustomStringConvertible {
    public let rawValue: UInt32
    public let name: String

    public init(rawValue: UInt32, name: String) {
        self.rawValue = rawValue
        self.name = name
    }

    public var description: String { name }

    public static let none = ActivityCallback(rawValue: 0, name: "none")
    public static let timer = ActivityCallback(rawValue: 1, name: "timer")
    public static let io = ActivityCallback(rawValue: 2, name: "io")
    public static let deferred = ActivityCallback(rawValue: 3, name: "nextTick")
    public static let signal = ActivityCallback(rawValue: 4, name: "signal")
    public static let job = ActivityCallback(rawValue: 5, name: "job")
    /// A Swift concurrency job on the loop's executor (a task's next part).
    public static let task = ActivityCallback(rawValue: 6, name: "task")
}

/// What a loop is doing right now, in a fixed-layout record. By default the loop keeps
/// it in its own memory; the process layer points it at a shared-memory page that `status` reads from
/// another process without stopping anyone. The layout is plain integers, the same in every process of one
/// executable.
public struct ActivityRecord {
    /// 0 idle (not running), 1 polling, 2 running a callback.
    public var phase: UInt32 = 0
    /// `ActivityCallback.rawValue` of the running callback.
    public var callback: UInt32 = 0
    /// The fd, timer id, signal or connection id the callback runs for.
    public var subject: UInt64 = 0
    /// `MonotonicClock` nanoseconds when the phase began (the start of the tick's dispatch for callbacks).
    public var since: UInt64 = 0
    /// Ticks completed.
    public var ticks: UInt64 = 0
    /// Live timers, as of the end of the last tick (status shows it).
    public var timers: UInt64 = 0
    /// How long ticks were busy (metrics export it).
    public var tickHistogram = TickHistogram()

    public init() {}

    public static let idle: UInt32 = 0
    public static let polling: UInt32 = 1
    public static let running: UInt32 = 2
}

/// A readable snapshot of `ActivityRecord`.
public enum LoopActivity: Hashable, Sendable, CustomStringConvertible {
    case idle
    /// Blocked in the backend's poll since the given monotonic time.
    case polling(since: UInt64)
    /// Inside a callback for `subject` since the given monotonic time.
    case running(callback: UInt32, subject: UInt64, since: UInt64)

    public init(_ record: ActivityRecord) {
        switch record.phase {
        case ActivityRecord.polling: self = .polling(since: record.since)
        case ActivityRecord.running:
            self = .running(callback: record.callback, subject: record.subject, since: record.since)
        default: self = .idle
        }
    }

    public var description: String {
        switch self {
        case .idle: return "idle"
        case .polling: return "polling"
        case .running(let callback, let subject, _): return "running callback \(callback) for \(subject)"
        }
    }
}
