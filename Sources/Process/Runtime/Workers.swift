/// The non-generic home of what concerns all workers of a program at once: running them and the
/// process-wide settings. `Worker.runAll()` and `Worker.settings` (Workerman's spelling) say the same.
///
/// ```swift
/// Workers.settings.pidFile = "/run/chat.pid"
/// let web = try Worker(http: "0.0.0.0:8080")
/// let chat = try Worker(websocket: "0.0.0.0:2346")
/// Workers.runAll()   // ./chat start -d | stop | reload | upgrade | status | connections
/// ```
public enum Workers {
    /// Turns this program into a master that supervises the processes of every worker made so far,
    /// driven by the command line (`start [-d] | stop [-g] | restart | reload [-g] | upgrade | status [-d] |
    /// connections`). Returns only in a command that does not start a server; a master and its
    /// children exit when stopped.
    public static func runAll() {
        WorkermanRuntime.runAll(arguments: Array(CommandLine.arguments.dropFirst()))
    }

    /// `runAll()` with the command given in code instead of on the command line, for programs whose
    /// own flags are not Workerman's: `Workers.runAll(arguments: ["start"])`.
    public static func runAll(arguments: [String]) {
        WorkermanRuntime.runAll(arguments: arguments)
    }

    /// Settings for `runAll()`: pid and log files, daemon mode, stop timeouts, process titles.
    public static var settings: ProcessSettings {
        get { WorkerRegistry.settingsLock.value }
        set { WorkerRegistry.settingsLock.value = newValue }
    }
}
