import WorkermanEventLoop
import WorkermanTransport

#if canImport(Glibc)
import Glibc
#endif

// Recycling (`maxRequests`, `maxMemory`): a process past either says why on its status slot and leaves
// as a reload does (the exchange in flight finishes, keep-alive connections are told `Connection: close`);
// the master starts its replacement at once, without back-off, and counts it. The connections that
// arrive meanwhile wait in the shared listener's backlog or go to the worker's other processes.
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
            guard !self.stopping else {
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
        guard !stopping else { return }
        log.write("worker[\(worker.name):\(getpid())] recycling \(why)")
        stopping = true
        slot?.pointee.recycled = reason
        slot?.pointee.state = SlotRecord.stopping
        finish(.closeWhenIdle, timeout: max(0.5, settings.stopTimeout - 0.5))
    }
}
