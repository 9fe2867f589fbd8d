// The timer heap behind `addTimer`, checked through the loop's public face against a plain reference model:
// random schedule/cancel/advance sequences from a seeded generator, so every run is the same run.

import Testing
import WorkermanEventLoop
import WorkermanTestSupport

/// SplitMix64: small, fast, and the same sequence for the same seed on every toolchain.
private struct SeededDice {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A number in `0..<bound`.
    mutating func below(_ bound: Int) -> Int { Int(next() % UInt64(bound)) }

    mutating func pick<T>(_ choices: [T]) -> T { choices[below(choices.count)] }
}

/// What the timer queue should do, written as plainly as possible: a list, searched in full each time.
private struct TimerModel {
    struct Timer {
        let name: Int
        let id: TimerID
        var deadline: UInt64
        var sequence: Int
        let interval: UInt64  // 0 = once
        /// The timer (by name) this one cancels when it fires, if any.
        let cancelsOnFire: Int?
        var queued = true
    }

    private(set) var timers: [Timer] = []
    private var nextSequence = 0

    var liveCount: Int { timers.count }
    var liveNames: [Int] { timers.map(\.name) }

    mutating func schedule(name: Int, id: TimerID, deadline: UInt64, interval: UInt64, cancelsOnFire: Int?) {
        timers.append(
            Timer(
                name: name,
                id: id,
                deadline: deadline,
                sequence: takeSequence(),
                interval: interval,
                cancelsOnFire: cancelsOnFire
            )
        )
    }

    mutating func cancel(name: Int) -> Bool {
        guard let index = timers.firstIndex(where: { $0.name == name }) else { return false }
        timers.remove(at: index)
        return true
    }

    mutating func cancelAll() { timers.removeAll() }

    /// Runs the timer phase at `now`: the names in the order they fire.
    mutating func fire(now: UInt64) -> [Int] {
        var fired: [Int] = []
        while let index = earliestDue(now: now) {
            let timer = timers[index]
            fired.append(timer.name)
            if timer.interval == 0 {
                timers.remove(at: index)
            } else {
                timers[index].queued = false
            }
            if let target = timer.cancelsOnFire { _ = cancel(name: target) }
            if timer.interval > 0, let again = timers.firstIndex(where: { $0.name == timer.name }) {
                timers[again].deadline = now + timer.interval
                timers[again].sequence = takeSequence()
                timers[again].queued = true
            }
        }
        return fired
    }

    var nextDeadline: UInt64? { timers.filter(\.queued).map(\.deadline).min() }

    func id(of name: Int) -> TimerID? { timers.first { $0.name == name }?.id }

    private func earliestDue(now: UInt64) -> Int? {
        timers.indices
            .filter { timers[$0].queued && timers[$0].deadline <= now }
            .min { (timers[$0].deadline, timers[$0].sequence) < (timers[$1].deadline, timers[$1].sequence) }
    }

    private mutating func takeSequence() -> Int {
        defer { nextSequence += 1 }
        return nextSequence
    }
}

@Suite("TimerQueue")
struct TimerQueueTests {
    /// Random schedule / cancel / cancel-from-callback / cancel-all / advance sequences. After every step the
    /// loop's timer count, cancel results, firing order and poll timeout must match the model.
    @Test(arguments: [1, 2, 3, 42, 2024] as [UInt64])
    func matchesReferenceModel(seed: UInt64) throws {
        var random = SeededDice(seed: seed)
        // The clock moves only when the test says so, not with the polls.
        let (loop, backend, clock) = try makeScriptedLoop(advancing: false)
        var model = TimerModel()
        var fired: [Int] = []
        var everIssued: [Int: TimerID] = [:]
        var issuedNames: [Int] = []  // in the order issued (ascending), for deterministic picks
        var idsSeen: Set<TimerID> = []
        let millisecond: UInt64 = 1_000_000

        for step in 0..<1500 {
            let choice = random.below(100)
            if choice < 30 {
                // A one-shot timer; small delays make equal deadlines common.
                let name = step
                let delay = UInt64(random.pick([0, 1, 1, 2, 2, 5, 10])) * millisecond
                let target: Int? = random.below(4) == 0 && !issuedNames.isEmpty ? random.pick(issuedNames) : nil
                let id = try loop.addTimer(after: Double(delay) / 1e9) {
                    fired.append(name)
                    if let target, let targetID = everIssued[target] { loop.cancelTimer(targetID) }
                }
                model.schedule(name: name, id: id, deadline: clock.now + delay, interval: 0, cancelsOnFire: target)
                everIssued[name] = id
                issuedNames.append(name)
                #expect(idsSeen.insert(id).inserted, "id \(id) issued twice")
            } else if choice < 40 {
                let name = step
                let interval = UInt64(random.pick([1, 3, 7])) * millisecond
                // A repeating timer that sometimes cancels itself when it fires.
                let cancelsItself = random.below(5) == 0
                var id: TimerID?
                id = try loop.addTimer(every: Double(interval) / 1e9) {
                    fired.append(name)
                    if cancelsItself { loop.cancelTimer(id!) }
                }
                model.schedule(
                    name: name,
                    id: id!,
                    deadline: clock.now + interval,
                    interval: interval,
                    cancelsOnFire: cancelsItself ? name : nil
                )
                everIssued[name] = id!
                issuedNames.append(name)
                #expect(idsSeen.insert(id!).inserted, "id \(id!) issued twice")
            } else if choice < 60 {
                // Cancel any timer ever issued: live ones succeed, finished or cancelled ones do not.
                guard !issuedNames.isEmpty else { continue }
                let name = random.pick(issuedNames)
                let expected = model.cancel(name: name)
                #expect(loop.cancelTimer(everIssued[name]!) == expected, "step \(step): cancel \(name)")
            } else if choice < 61 {
                loop.cancelAllTimers()
                model.cancelAll()
            } else {
                clock.advance(byNanoseconds: UInt64(random.pick([0, 1, 1, 2, 3, 4, 8])) * millisecond)
                fired.removeAll()
                try loop.tick()
                let expectedOrder = model.fire(now: clock.now)
                #expect(fired == expectedOrder, "step \(step): firing order at \(clock.now)")
                let expectedTimeout: PollTimeout
                if let deadline = model.nextDeadline {
                    expectedTimeout = deadline <= clock.now ? .immediate : .nanoseconds(deadline - clock.now)
                } else {
                    expectedTimeout = .indefinite
                }
                #expect(backend.timeouts.last == expectedTimeout, "step \(step): poll timeout")
            }
            #expect(loop.timerCount == model.liveCount, "step \(step): timer count")
            if loop.timerCount != model.liveCount { break }
        }

        loop.cancelAllTimers()
        expectNoLeaks(loop)
    }

    @Test func idsOfFinishedAndCancelledTimersNeverMatchLaterOnes() throws {
        let (loop, _, clock) = try makeScriptedLoop()
        var ran: [String] = []
        let first = try loop.addTimer(after: 0.001) { ran.append("first") }
        #expect(loop.cancelTimer(first))
        #expect(!loop.cancelTimer(first), "a second cancel of the same id")
        // The next timer may reuse the first one's storage; the old id must not reach it.
        let second = try loop.addTimer(after: 0.001) { ran.append("second") }
        #expect(second != first)
        #expect(!loop.cancelTimer(first))
        #expect(loop.timerCount == 1)

        clock.advance(by: .milliseconds(1))
        try loop.tick()
        #expect(ran == ["second"])
        #expect(!loop.cancelTimer(second), "a finished one-shot timer is gone")
        let third = try loop.addTimer(after: 0.001) { ran.append("third") }
        #expect(!loop.cancelTimer(second))
        #expect(loop.cancelTimer(third))
        #expect(Set([first, second, third]).count == 3)
        expectNoLeaks(loop)
    }

    @Test func manyTimersFireInDeadlineOrder() throws {
        let (loop, _, _) = try makeScriptedLoop()
        var random = SeededDice(seed: 7)
        var fired: [(deadline: Int, order: Int)] = []
        for order in 0..<500 {
            let deadline = random.below(50)
            try loop.addTimer(after: Double(deadline) / 1000) { fired.append((deadline, order)) }
        }
        try loop.run()
        #expect(fired.count == 500)
        let sorted = fired.sorted { ($0.deadline, $0.order) < ($1.deadline, $1.order) }
        #expect(fired.map(\.order) == sorted.map(\.order), "by deadline, then in scheduling order")
        expectNoLeaks(loop)
    }
}
