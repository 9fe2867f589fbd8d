#if canImport(Glibc)
import Glibc
#endif

/// A value that several threads share, guarded by a `pthread_mutex_t`: the lock of every piece of
/// cross-thread state in the library (the loop's handle, the resolver's answers, the process-wide caches).
///
/// Why not `Synchronization.Mutex`: on Linux it locks with a bare futex, whose ordering ThreadSanitizer
/// cannot see, so TSan reports every access it guards as a race, and a real race behind it would look the
/// same. ThreadSanitizer intercepts `pthread_mutex_lock`/`unlock` and so understands this lock. Uncontended,
/// both take and release with one atomic instruction each (glibc's fast path for a normal mutex); under
/// contention this one measured faster (bench-loop `cross-thread-4`), as `Mutex` waits on a
/// priority-inheriting futex.
///
/// One allocation holds the value (the buffer's header) and the mutex (its single element): the mutex
/// must not move once initialised, which a class's storage guarantees and a struct's would not.
///
/// Safety of `@unchecked Sendable`: the value is read and written only inside `withLock`, with the mutex
/// held. What a caller takes out of it (a class reference) is that caller's to keep to one thread.
package final class ThreadLock<Value>: @unchecked Sendable {  // safe: the value is touched only with the mutex held
    @usableFromInline
    final class Storage: ManagedBuffer<Value, pthread_mutex_t> {
        deinit {
            withUnsafeMutablePointerToElements { mutex in
                _ = pthread_mutex_destroy(mutex)  // EBUSY cannot happen: nobody can hold a lock being freed
                mutex.deinitialize(count: 1)
            }
        }
    }

    @usableFromInline let storage: Storage

    /// A lock around `value`.
    package init(_ value: Value) {
        // `create` is typed as returning the base class; called on `Storage` it makes a `Storage`.
        storage = unsafeDowncast(Storage.create(minimumCapacity: 1) { _ in value }, to: Storage.self)
        storage.withUnsafeMutablePointerToElements { mutex in
            mutex.initialize(to: pthread_mutex_t())
            let result = pthread_mutex_init(mutex, nil)
            precondition(result == 0, "pthread_mutex_init failed: \(result)")
        }
    }

    /// Runs `body` with the lock held and the value to read or change. `body` must not take this lock again
    /// (a normal mutex deadlocks) and should not block: other threads wait meanwhile.
    @inlinable
    package func withLock<Result>(_ body: (inout Value) throws -> Result) rethrows -> Result {
        try storage.withUnsafeMutablePointers { value, mutex in
            // Only EINVAL (never initialised) or EDEADLK (error-checking mutexes only) can fail: our bug.
            let locked = pthread_mutex_lock(mutex)
            precondition(locked == 0, "pthread_mutex_lock failed: \(locked)")
            defer { pthread_mutex_unlock(mutex) }
            return try body(&value.pointee)
        }
    }
}
