/// Readiness of a file descriptor: what a callback is told, and (readable/writable only) what it asks for.
///
/// ```swift
/// try loop.watch(fd, for: .readable) { events in … }
/// ```
public struct IOEvents: OptionSet, Hashable, Sendable, CustomStringConvertible {
    public var rawValue: UInt32

    public init(rawValue: UInt32) { self.rawValue = rawValue }

    /// Data (or end of stream, or a pending connection) can be read without blocking.
    public static let readable = IOEvents(rawValue: 1 << 0)
    /// Some data can be written without blocking.
    public static let writable = IOEvents(rawValue: 1 << 1)
    /// The descriptor has an error pending (delivered, never asked for). The watched events are set too,
    /// so the next read or write reports the error.
    public static let error = IOEvents(rawValue: 1 << 2)
    /// The peer hung up (delivered, never asked for). The watched events are set too.
    public static let hangup = IOEvents(rawValue: 1 << 3)

    /// The events a watcher may ask for.
    public static let interestMask: IOEvents = [.readable, .writable]

    public var description: String {
        var names: [String] = []
        if contains(.readable) { names.append("readable") }
        if contains(.writable) { names.append("writable") }
        if contains(.error) { names.append("error") }
        if contains(.hangup) { names.append("hangup") }
        return "[" + names.joined(separator: ", ") + "]"
    }
}
