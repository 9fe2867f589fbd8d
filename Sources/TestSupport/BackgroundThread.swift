#if canImport(Glibc)
import Glibc
#endif

/// A plain thread for test work that blocks (a load client on blocking sockets), kept off Swift's
/// cooperative pool, whose few threads a blocked test would starve. Joined by `join()` or on release.
///
/// ```swift
/// let load = try BackgroundThread { while !stop.load(ordering: .relaxed) { request() } }
/// defer { load.join() }
/// ```
public final class BackgroundThread {
    /// The body, handed to the new thread through an unmanaged pointer.
    private final class Box {
        let body: @Sendable () -> Void
        init(_ body: @escaping @Sendable () -> Void) { self.body = body }
    }

    /// `pthread_create` failed.
    public struct StartError: Error, CustomStringConvertible {
        public let code: CInt
        public var description: String { "pthread_create: \(code)" }
    }

    private var thread = pthread_t()
    private var joined = false

    /// Starts a thread running `body`.
    public init(_ body: @escaping @Sendable () -> Void) throws(StartError) {
        let box = Unmanaged.passRetained(Box(body)).toOpaque()
        let result = pthread_create(&thread, nil, { argument in
            Unmanaged<Box>.fromOpaque(argument!).takeRetainedValue().body()
            return nil
        }, box)
        guard result == 0 else {
            Unmanaged<Box>.fromOpaque(box).release()
            throw StartError(code: result)
        }
    }

    /// Waits for the body to return (once; later calls return at once).
    public func join() {
        guard !joined else { return }
        joined = true
        pthread_join(thread, nil)
    }

    deinit { join() }
}
