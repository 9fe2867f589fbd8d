/// What the command line asks of `runAll()`, as Workerman's CLI: the command and its `-d`/`-g` flags may
/// come in any order.
///
/// ```
/// ./app start [-d] | stop [-g] | restart [-d] [-g] | reload [-g] | upgrade | status [-d] | connections
/// ```
public enum ControlCommand: Equatable, Sendable {
    case start(daemon: Bool)
    case stop(graceful: Bool)
    case restart(daemon: Bool, graceful: Bool)
    case reload(graceful: Bool)
    /// Start the binary on disk as a new master on the same sockets, then retire the running one.
    case upgrade
    case status(live: Bool)
    case connections

    /// Parses the arguments after the program name.
    ///
    /// - Throws: `ProcessError` `.usage` for a missing or unknown command or flag (the CLI prints the
    ///   usage and exits with 2).
    public static func parse(_ arguments: [String]) throws(ProcessError) -> ControlCommand {
        var command: String?
        var daemon = false
        var graceful = false
        for argument in arguments {
            switch argument {
            case "-d": daemon = true
            case "-g": graceful = true
            case "-q": continue  // Workerman's "quiet start", accepted for compatibility
            case "start", "stop", "restart", "reload", "upgrade", "status", "connections":
                guard command == nil else {
                    throw ProcessError(.usage, "parse command line", detail: "more than one command: \(command!) and \(argument)")
                }
                command = argument
            default:
                throw ProcessError(.usage, "parse command line", detail: argument.hasPrefix("-") ? "unknown flag: \(argument)" : "unknown command: \(argument)")
            }
        }
        guard let command else { throw ProcessError(.usage, "parse command line", detail: "no command given") }
        let flagError = { (flag: String) in ProcessError(.usage, "parse command line", detail: "\(command) does not take \(flag)") }
        switch command {
        case "start":
            if graceful { throw flagError("-g") }
            return .start(daemon: daemon)
        case "stop":
            if daemon { throw flagError("-d") }
            return .stop(graceful: graceful)
        case "restart":
            return .restart(daemon: daemon, graceful: graceful)
        case "reload":
            if daemon { throw flagError("-d") }
            return .reload(graceful: graceful)
        case "upgrade":
            if daemon || graceful { throw flagError(daemon ? "-d" : "-g") }
            return .upgrade
        case "status":
            if graceful { throw flagError("-g") }
            return .status(live: daemon)
        default:
            if daemon || graceful { throw flagError(daemon ? "-d" : "-g") }
            return .connections
        }
    }

    /// The usage text, as Workerman prints it.
    public static func usage(program: String) -> String {
        """
        Usage: \(program) <command> [mode]
        Commands:
        start\t\tStart worker in DEBUG mode.
        \t\tUse mode -d to start in DAEMON mode.
        stop\t\tStop worker.
        \t\tUse mode -g to stop gracefully.
        restart\t\tRestart workers.
        \t\tUse mode -d to start in DAEMON mode.
        \t\tUse mode -g to stop gracefully.
        reload\t\tReload codes.
        \t\tUse mode -g to reload gracefully.
        upgrade\t\tStart the program on disk as a new master on the same sockets,
        \t\tthen retire the running one gracefully.
        status\t\tGet worker status.
        \t\tUse mode -d to show live status.
        connections\tGet worker connections.
        """
    }
}
