import WorkermanEventLoop

/// The start-up table.
enum StartTable {
    static func render(plan: [WorkerBase], daemon: Bool, program: String) -> String {
        var rows: [[String]] = [["proto", "user", "worker", "listen", "processes", "status"]]
        for worker in plan {
            rows.append([
                worker.transportName, worker.user ?? UserSwitch.currentUser, worker.name, worker.address ?? "none",
                String(worker.count), "[OK]",
            ])
        }
        var out = "----------------------------------------- WORKERMAN -----------------------------------------\n"
        out += "Workerman for Swift version:\(StatusReport.version)          Swift version:\(StatusReport.swiftVersion)          Event-Loop:\(BackendKind.automatic.resolved)\n"
        out += "------------------------------------------ WORKERS ------------------------------------------\n"
        out += StatusReport.table(rows)
        out += "---------------------------------------------------------------------------------------------\n"
        out += daemon ? "Input \"\(program) stop\" to stop. Start success." : "Press Ctrl+C to stop. Start success."
        return out
    }
}
