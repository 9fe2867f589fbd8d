import WorkermanEventLoop
import WorkermanProcess
import WorkermanTransport

#if canImport(Glibc)
import Glibc
#endif

/// Reloads the program's workers when its files change, for development (Workerman's FileMonitor): a
/// worker of its own, one process, not reloadable (it survives the reloads it causes), that watches
/// paths with inotify (polling where inotify is unavailable), gathers a burst of changes into one, and
/// asks the master for a reload — graceful by default. It watches only in debug mode (`start`, not
/// `start -d`) unless `runsInDaemonMode` is set: in production a half-copied deploy must not reload.
///
/// ```swift
/// let monitor = FileMonitor(paths: ["Sources", "Public"], extensions: ["swift", "html", "css"])
/// monitor.watchExecutable = true     // `swift build` in another terminal rolls the workers onto it
/// Worker.runAll()
/// ```
///
/// **What reloads.** A reload replaces the processes of every reloadable worker, one at a time, each
/// started again from the executable file on disk. So after a rebuild (`watchExecutable`) they run the
/// new binary's code, and files read at start (templates, configuration) are read again.
///
/// **What does not.** The master keeps running the binary it started with: the list of workers, their
/// addresses, counts and `Worker.settings` are the master's, so adding, removing or reordering workers
/// needs a restart (`restart`), not a reload. Non-reloadable workers — this monitor, `GlobalDataServer`,
/// `ChannelServer`, and any worker with `reloadable = false` — only run `onWorkerReload` and keep their
/// old code and state. The master ignores a reload request while a reload is still rolling, so a change
/// saved during one may need saving again.
public final class FileMonitor {
    public enum Method: Sendable {
        /// inotify, falling back to polling when it cannot start.
        case automatic
        case inotify
        case polling
    }

    public enum ReloadKind: Sendable {
        /// `reload -g` (SIGUSR2): connections finish what they are doing first.
        case graceful
        /// `reload` (SIGUSR1).
        case immediate
    }

    /// The worker: its name and settings can be changed before `runAll()`.
    public let worker: Worker<RawCodec>
    /// Files and directories (watched recursively) to watch, absolute or relative to the start directory.
    public var paths: [String]
    /// Which files under the watched directories count (files named in `paths` always do).
    public var filter: FileFilter
    /// Also watch the running executable, so a rebuild reloads the workers onto the new binary.
    public var watchExecutable = false
    /// Seconds without a change before a burst counts as finished.
    public var debounce = 0.3
    /// The longest a continuous stream of changes delays the reload.
    public var maxDelay = 3.0
    /// Seconds between scans when polling.
    public var pollInterval = 1.0
    public var method = Method.automatic
    public var reload = ReloadKind.graceful
    /// Watch in daemon mode too.
    public var runsInDaemonMode = false
    /// Called with the changed paths right before the reload is requested; throwing skips the reload
    /// (say, a syntax check that failed).
    public var onChange: (([String]) throws -> Void)?
    public var log: ComponentLogger = ComponentLog.standardError

    private var watcher: FileWatcher?
    private var debouncer: ChangeDebouncer?
    private var exactFiles: Set<String> = []
    private var executable: String?
    /// Times a burst waited for the executable to become complete.
    private var executableWaits = 0
    /// Reloads requested by this process, numbered in the log.
    public private(set) var reloadCount = 0

    /// A monitor of `paths`, counting files with `extensions` (nil: every file).
    public init(paths: [String] = [], extensions: Set<String>? = nil) {
        self.paths = paths
        filter = FileFilter(extensions: extensions)
        worker = Worker()
        worker.name = "FileMonitor"
        worker.reloadable = false
        // Strong capture on purpose: the monitor lives as long as its worker.
        worker.onWorkerStart = { worker in try self.start(on: worker.loop!) }
    }

    // MARK: - Running

    /// Starts watching on `loop` (the worker does this in its process; tests call it directly).
    package func start(on loop: EventLoop) throws {
        if Worker.settings.daemonize && !runsInDaemonMode {
            log("FileMonitor: not watching in daemon mode (set runsInDaemonMode to watch anyway)")
            return
        }
        var directories: [String] = []
        var files: [String] = []
        for path in paths {
            let resolved = FileTree.resolved(path)
            if FileTree.isDirectory(resolved) { directories.append(resolved) } else { files.append(resolved) }
        }
        if watchExecutable, let executable = FileTree.runningExecutable() {
            self.executable = executable
            files.append(executable)
        }
        exactFiles = Set(files)
        let debouncer = ChangeDebouncer(loop: loop, quiet: debounce, maxDelay: maxDelay) { [weak self] burst in
            self?.burstEnded(burst)
        }
        self.debouncer = debouncer
        let onChange: ([String]) -> Void = { [weak self] changed in
            guard let self else { return }
            let relevant = changed.filter { self.exactFiles.contains($0) || self.filter.matches($0) }
            self.debouncer?.add(relevant)
        }
        defer {
            if let watcher {
                let how = watcher is InotifyWatcher ? "inotify" : "polling every \(pollInterval) s"
                log("FileMonitor: watching \(directories.count) director(ies) and \(files.count) file(s) with \(how)")
            }
        }
        switch method {
        case .polling:
            watcher = try startPolling(directories, files, loop, onChange)
        case .inotify:
            let inotify = InotifyWatcher(directories: directories, files: files)
            try inotify.start(on: loop, onChange: onChange)
            watcher = inotify
        case .automatic:
            let inotify = InotifyWatcher(directories: directories, files: files)
            do {
                try inotify.start(on: loop, onChange: onChange)
                watcher = inotify
            } catch {
                log("FileMonitor: \(error); polling every \(pollInterval) s instead")
                watcher = try startPolling(directories, files, loop, onChange)
            }
        }
    }

    private func startPolling(
        _ directories: [String],
        _ files: [String],
        _ loop: EventLoop,
        _ onChange: @escaping ([String]) -> Void
    ) throws -> FileWatcher {
        let polling = PollingWatcher(directories: directories, files: files, interval: pollInterval)
        polling.log = log
        try polling.start(on: loop, onChange: onChange)
        return polling
    }

    /// Stops watching.
    package func stop() {
        watcher?.stop()
        watcher = nil
        debouncer?.cancel()
        debouncer = nil
    }

    private func burstEnded(_ burst: [String]) {
        // A replaced executable counts once it is complete: executable, and not still being written
        // (a linker that writes in place makes the file executable at the end).
        if let executable, burst.contains(executable), !Syscalls.isAccessible(executable, .executable), executableWaits < 20 {
            executableWaits += 1
            debouncer?.add(burst)
            debouncer?.postpone()
            return
        }
        executableWaits = 0
        do {
            try onChange?(burst)
        } catch {
            log("FileMonitor: \(burst.count) change(s), reload skipped: \(error)")
            return
        }
        reloadCount += 1
        let shown = burst.prefix(3).joined(separator: ", ") + (burst.count > 3 ? ", …" : "")
        let kind = reload == .graceful ? "graceful reload" : "reload"
        log("FileMonitor: \(burst.count) change(s) (\(shown)): \(kind) #\(reloadCount)")
        requestReload()
    }

    /// Asks the master (this process's parent) for a reload.
    private func requestReload() {
        let master = getppid()
        guard master > 1 else {
            log("FileMonitor: no master process to reload")
            return
        }
        // A master gone meanwhile has nobody left to reload.
        try? Syscalls.signal(master, reload == .graceful ? SIGUSR2 : SIGUSR1)
    }
}
