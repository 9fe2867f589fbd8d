import WorkermanEventLoop

/// Gathers a burst of changes into one: fires once no change has come for `quiet` seconds, or at the
/// latest `maxDelay` seconds after the first one (so a file rewritten without pause still reloads).
/// Saving twenty files, or a build writing hundreds, makes one reload.
final class ChangeDebouncer {
    let loop: EventLoop
    let quiet: Double
    let maxDelay: Double
    private let fire: ([String]) -> Void
    private var paths: [String] = []
    private var seen: Set<String> = []
    private var firstAt: UInt64 = 0
    private var timer: TimerID?

    init(loop: EventLoop, quiet: Double, maxDelay: Double, fire: @escaping ([String]) -> Void) {
        self.loop = loop
        self.quiet = quiet
        self.maxDelay = max(quiet, maxDelay)
        self.fire = fire
    }

    deinit { cancel() }

    /// Whether changes are gathered and not yet fired.
    var isPending: Bool { timer != nil }

    func add(_ changed: [String]) {
        guard !changed.isEmpty else { return }
        let now = loop.clock.nanoseconds()
        if paths.isEmpty { firstAt = now }
        for path in changed where seen.insert(path).inserted { paths.append(path) }
        let elapsed = Double(now - firstAt) / 1e9
        schedule(after: min(quiet, max(0, maxDelay - elapsed)))
    }

    /// Fires later, keeping what was gathered (a change that is not ready yet, such as a binary still
    /// being written).
    func postpone() {
        schedule(after: quiet)
    }

    func cancel() {
        if let timer { loop.cancelTimer(timer) }
        timer = nil
    }

    private func schedule(after seconds: Double) {
        cancel()
        timer = try? loop.addTimer(after: seconds) { [weak self] in
            guard let self else { return }
            self.timer = nil
            let burst = self.paths
            self.paths.removeAll()
            self.seen.removeAll()
            self.fire(burst)
        }
    }
}
