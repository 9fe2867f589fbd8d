import WorkermanEventLoop
import WorkermanTransport

#if canImport(Glibc)
import Glibc
#endif

// Recycling (`maxRequests`, `maxMemory`), the child's half: a process past either says why on its status
// slot and keeps serving; the master starts its replacement, and once that one serves sends this one
// SIGQUIT, on which it leaves as a reload does (the exchange in flight finishes, keep-alive connections
// are told `Connection: close`). See Supervisor+Recycling.swift.
extension ChildRuntime {
    func watchRecyclingLimits() throws {
        guard worker.maxRequests != nil || worker.maxMemory != nil else { return }
        // Jitter: processes started together do not all leave at the same request count.
        let requestLimit = worker.maxRequests.map { $0 + Int.random(in: 0...($0 / 10)) }
        let memoryLimit = worker.maxMemory
        let context = TransportContext.of(loop)
        // Once a second, only when asked for: the cost is a counter compare and, for maxMemory, one
        // read of /proc/self/statm.
        var check: TimerID?
        check = try loop.addTimer(every: 1) { [unowned self] in
            guard !self.stopping, !self.isRecycled else {
                if let check { self.loop.cancelTimer(check) }
                return
            }
            let requests = context.statistics.totalRequest
            if let requestLimit, requests >= requestLimit {
                self.recycle(SlotRecord.recycledForRequests, "after \(requests) requests (maxRequests \(self.worker.maxRequests ?? 0))")
            } else if let memoryLimit {
                let resident = ResidentMemory.bytes(of: getpid())
                if resident >= memoryLimit {
                    self.recycle(SlotRecord.recycledForMemory, "at \(resident / 1_048_576) MB resident (maxMemory \(memoryLimit / 1_048_576) MB)")
                }
            }
        }
    }

    private func recycle(_ reason: UInt32, _ why: String) {
        guard !stopping, !isRecycled else { return }
        log.write("worker[\(worker.name):\(getpid())] recycling \(why)")
        slot?.pointee.recycled = reason
        // Without a board (a master that cannot see the request) nobody would start a replacement:
        // leave at once, as before the master took part.
        if slot == nil {
            stopping = true
            finish(.closeWhenIdle, timeout: max(0.5, settings.stopTimeout - 0.5))
        }
    }

    /// Whether this process asked to be recycled (the master then replaces it and tells it to leave).
    var isRecycled: Bool { (slot?.pointee.recycled ?? 0) != 0 }
}
