/// The files of one program's run, resolved from the settings: defaults sit next to the executable
/// (Workerman puts them next to its vendor folder), so two programs never share them.
struct RuntimePaths {
    /// The executable's path: the "start file" of Workerman's messages.
    let startFile: String
    let pidFile: String
    let logFile: String
    let statusFile: String
    let stdoutFile: String

    init(settings: ProcessSettings, executable: String) {
        startFile = executable
        let directory = executable.lastIndex(of: "/").map { String(executable[..<$0]) } ?? "."
        pidFile = settings.pidFile ?? "\(executable).pid"
        logFile = settings.logFile ?? "\(directory)/workerman.log"
        statusFile = settings.statusFile ?? "\(pidFile).status"
        stdoutFile = settings.stdoutFile
    }
}
