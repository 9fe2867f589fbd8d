import CWorkermanShims
import WorkermanEventLoop

/// Every `Worker` made before `runAll()`, in creation order: the process plan. A child re-runs `main`,
/// builds the same workers in the same order, and finds its own here.
///
/// This is the one process-wide registry the Workerman model needs (`Worker::$workers`): `runAll()` is
/// static and sees workers the program made anywhere. Safety of `@unchecked Sendable`: the list is
/// guarded by `state`'s lock (a `ThreadLock`, which ThreadSanitizer sees); the workers in it are
/// loop-bound objects that are only dereferenced by `runAll()` and by code it runs on the thread that
/// called it (checked to be the main thread), which is the thread that built them.
final class WorkerRegistry: @unchecked Sendable {  // safe: list under a mutex, entries used on the main thread only
    static let shared = WorkerRegistry()

    /// Lets loop-bound objects sit in the lock-protected state. Safety of `@unchecked Sendable`: see the
    /// type's comment — they are only dereferenced on the main thread, where they were made.
    private struct Held<Value: AnyObject>: @unchecked Sendable {  // safe: dereferenced on the main thread only
        let value: Value
    }

    private struct State {
        var workers: [Held<WorkerBase>] = []
        /// Set once `runAll()` has taken the plan: workers made later (in `onWorkerStart`) are dynamic.
        var sealed = false
        /// The running process's loop, for `listen()` on dynamic workers.
        var loop: Held<EventLoop>?
    }

    private let state = ThreadLock(State())

    /// Adds a worker to the plan, unless `runAll()` already took it. Returns the worker's plan index.
    func register(_ worker: WorkerBase) -> Int? {
        state.withLock { state -> Int? in
            guard !state.sealed else { return nil }
            state.workers.append(Held(value: worker))
            return state.workers.count - 1
        }
    }

    /// Takes the plan for `runAll()`.
    func seal() -> [WorkerBase] {
        precondition(wm_is_main_thread() != 0, "Worker.runAll() must be called on the main thread")
        return state.withLock { state in
            state.sealed = true
            return state.workers.map(\.value)
        }
    }

    var loop: EventLoop? {
        get { state.withLock { $0.loop?.value } }
        set {
            let held = newValue.map { Held(value: $0) }
            state.withLock { $0.loop = held }
        }
    }
}
