import WorkermanEventLoop

#if canImport(Glibc)
import Glibc
#endif

// Recycling (`maxRequests`, `maxMemory`), the master's half. A child past its limit marks its status
// slot (`recycled`) and keeps serving; the master then starts its replacement first, in a spare board
// slot, and only once that one serves tells the old child to drain (SIGQUIT: it finishes the exchange in
// flight and says `Connection: close` on keep-alive connections). So the worker never has a process
// fewer than configured, and a worker of one process never stops accepting. Counted as `recycles`.

extension Supervisor {
    /// Checks the board for recycle requests every 50 ms: a few integer reads, and only in a master
    /// with a recycling worker.
    func watchRecycling() throws {
        _ = try loop.addTimer(every: 0.05) { [unowned self] in
            guard state == .running || state == .reloading else { return }
            for index in slots.indices { checkRecycling(slot: index) }
        }
    }

    private func checkRecycling(slot index: Int) {
        let slot = slots[index]
        guard slot.pid > 0 else { return }
        let record = board.slot(slot.boardSlot).pointee
        if slot.retiringBoardSlot >= 0 {
            // A replacement is starting: once it serves, the old child drains.
            guard record.pid == slot.pid, record.state == SlotRecord.running,
                let old = recycledChildren.first(where: { $0.value == index && !drainingRecycled.contains($0.key) })?.key
            else { return }
            drainingRecycled.insert(old)
            log.write("worker[\(plan[slot.workerIndex].name):\(old)] its replacement \(slot.pid) serves: draining")
            launcher.signal(old, SIGQUIT)  // gone already: its exit is on the way
            let grace = settings.stopTimeout + 1
            _ = try? loop.addTimer(after: grace) { [unowned self] in
                if recycledChildren[old] != nil { launcher.signal(old, SIGKILL) }
            }
            return
        }
        // The reload in progress replaces this child anyway.
        guard record.recycled != 0, record.pid == slot.pid, reloadingSlot != index, !reloadQueue.contains(index),
            let spare = spareBoardSlots.first
        else { return }
        spareBoardSlots.removeFirst()
        let worker = plan[slot.workerIndex]
        log.write("worker[\(worker.name):\(slot.pid)] recycling (\(Self.reason(record.recycled))): starting its replacement first")
        recycledChildren[slot.pid] = index
        slots[index].retiringBoardSlot = slot.boardSlot
        slots[index].boardSlot = spare
        slots[index].pid = 0
        spawn(slot: index)
    }

    /// Called for every reaped child before the slots are searched; true when it was a recycled one.
    func recycledChildExited(pid: pid_t, status: CInt) -> Bool {
        guard let index = recycledChildren.removeValue(forKey: pid) else { return false }
        drainingRecycled.remove(pid)
        let workerIndex = slots[index].workerIndex
        let boardSlot = slots[index].retiringBoardSlot
        slots[index].retiringBoardSlot = -1
        if boardSlot >= 0 {
            let record = board.slot(boardSlot)
            let reason = record.pointee.recycled
            record.pointee.recycled = 0
            record.pointee.state = SlotRecord.free
            record.pointee.pid = 0
            // Unused until the next recycle: `status` shows no row for it.
            record.pointee.workerIndex = -1
            spareBoardSlots.append(boardSlot)
            log.write("worker[\(plan[workerIndex].name):\(pid)] recycled (\(Self.reason(reason)))")
        }
        // Asked to leave: a clean exit, whatever signal ended it once it had drained.
        board.recordExit(worker: workerIndex, status: status == SIGKILL ? status : 0)
        board.exits(workerIndex).pointee.recycles += 1
        if state == .stopping && noChildrenLeft { finishStop() }
        return true
    }

    static func reason(_ recycled: UInt32) -> String {
        recycled == SlotRecord.recycledForMemory ? "maxMemory" : "maxRequests"
    }
}
