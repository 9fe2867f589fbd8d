import WorkermanEventLoop

/// The fallback where inotify is unavailable (its watch limit reached, a filesystem without it): every
/// `interval` seconds, `stat` every file under the watched directories and the watched files, and report
/// those whose modification time, size or inode changed, appeared or disappeared. Workerman's own
/// FileMonitor works this way.
final class PollingWatcher: FileWatcher {
    private let directories: [String]
    private let files: [String]
    private let interval: Double
    private var snapshot: [String: FileTree.Signature] = [:]
    private var timer: TimerID?
    private var loop: EventLoop?
    /// Warned once when a scan grows large enough to cost noticeable time every interval.
    private var warnedLarge = false
    var log: ComponentLogger = ComponentLog.standardError

    init(directories: [String], files: [String], interval: Double) {
        self.directories = directories
        self.files = files
        self.interval = interval
    }

    deinit { stop() }

    func start(on loop: EventLoop, onChange: @escaping ([String]) -> Void) throws(FileMonitorError) {
        snapshot = scan()
        do {
            timer = try loop.addTimer(every: max(0.05, interval)) { [weak self] in
                guard let self else { return }
                let now = self.scan()
                var changed: [String] = []
                for (path, signature) in now where self.snapshot[path] != signature { changed.append(path) }
                for path in self.snapshot.keys where now[path] == nil { changed.append(path) }
                self.snapshot = now
                if !changed.isEmpty { onChange(changed.sorted()) }
            }
        } catch {
            throw FileMonitorError("polling timer: \(error)")
        }
        self.loop = loop
    }

    func stop() {
        if let timer { loop?.cancelTimer(timer) }
        timer = nil
        loop = nil
    }

    private func scan() -> [String: FileTree.Signature] {
        var found: [String: FileTree.Signature] = [:]
        for root in directories {
            for directory in FileTree.directories(under: root) {
                for name in FileTree.entries(directory) {
                    let path = directory == "/" ? "/\(name)" : "\(directory)/\(name)"
                    if let signature = FileTree.signature(path), signature.mode & 0o170000 != 0o040000 {
                        found[path] = signature
                    }
                }
            }
        }
        for file in files { found[file] = FileTree.signature(file) }
        if found.count > 10_000 && !warnedLarge {
            warnedLarge = true
            log("FileMonitor: polling \(found.count) files every \(interval) s; watch fewer paths or use inotify")
        }
        return found
    }
}
