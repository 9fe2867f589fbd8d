import WorkermanEventLoop

#if canImport(Glibc)
import Glibc
#endif

/// Watches with Linux inotify: directories recursively (new subdirectories are added as they appear),
/// single files through their parent directory, so an editor's or a linker's write-then-rename is seen.
/// The inotify descriptor is one more readable descriptor on the loop: no thread, no polling.
final class InotifyWatcher: FileWatcher {
    private struct Watch {
        let directory: String
        var recursive: Bool
        /// Names watched in this directory when it is only the parent of watched files.
        var files: Set<String>
    }

    /// Why these events: a finished write (`CLOSE_WRITE`), a file moved in or out or replaced by rename
    /// (`MOVED_*`), created or removed (`CREATE`, `DELETE`), or the directory itself gone. `MODIFY` is
    /// left out on purpose: it fires for every write(2), `CLOSE_WRITE` once per finished file.
    private static let mask = UInt32(IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_CREATE | IN_DELETE | IN_DELETE_SELF)

    private let directories: [String]
    private let files: [String]
    private var fd: CInt = -1
    private var watches: [CInt: Watch] = [:]
    private var loop: EventLoop?
    private var onChange: (([String]) -> Void)?

    init(directories: [String], files: [String]) {
        self.directories = directories
        self.files = files
    }

    deinit { stop() }

    func start(on loop: EventLoop, onChange: @escaping ([String]) -> Void) throws(FileMonitorError) {
        do {
            fd = try Syscalls.inotifyCreate()
        } catch {
            throw FileMonitorError("inotify_init1: \(error)")
        }
        do {
            for root in directories {
                for directory in FileTree.directories(under: root) { try add(directory, recursive: true, file: nil) }
            }
            for file in files {
                let slash = file.lastIndex(of: "/")
                let directory = slash.map { $0 == file.startIndex ? "/" : String(file[..<$0]) } ?? "."
                let name = slash.map { String(file[file.index(after: $0)...]) } ?? file
                try add(directory, recursive: false, file: name)
            }
            try loop.watch(fd, for: .readable) { [weak self] _ in self?.readEvents() }
        } catch let error as FileMonitorError {
            stop()
            throw error
        } catch {
            stop()
            throw FileMonitorError("watch the inotify descriptor: \(error)")
        }
        self.loop = loop
        self.onChange = onChange
    }

    func stop() {
        guard fd >= 0 else { return }
        loop?.unwatch(fd)
        try? Syscalls.close(fd)
        fd = -1
        watches.removeAll()
        loop = nil
        onChange = nil
    }

    /// Adds a watch on `directory`; the same directory twice shares one watch (the kernel returns the same
    /// descriptor), so its roles are merged.
    private func add(_ directory: String, recursive: Bool, file: String?) throws(FileMonitorError) {
        let wd: CInt
        do {
            wd = try Syscalls.inotifyAddWatch(fd, directory, mask: Self.mask)
        } catch .noSuchFileOrDirectory {
            return  // gone meanwhile
        } catch where error.rawValue == ENOSPC {
            throw FileMonitorError("inotify watch limit reached at \(directory) (raise fs.inotify.max_user_watches)")
        } catch {
            throw FileMonitorError("inotify_add_watch \(directory): \(error)")
        }
        var watch = watches[wd] ?? Watch(directory: directory, recursive: false, files: [])
        watch.recursive = watch.recursive || recursive
        if let file { watch.files.insert(file) }
        watches[wd] = watch
    }

    private func readEvents() {
        var changed: [String] = []
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        while fd >= 0 {
            // EAGAIN (all read) ends the batch; so does an error, which the next readiness retries.
            let result = try? buffer.withUnsafeMutableBytes { (raw) throws(Errno) in try Syscalls.read(fd, raw.baseAddress!, raw.count) }
            guard case .processed(let count)? = result, count > 0 else { break }
            var offset = 0
            // struct inotify_event { int wd; uint32_t mask, cookie, len; char name[len]; }
            while offset + 16 <= count {
                let (wd, mask, length) = buffer.withUnsafeBytes { raw in
                    (
                        raw.loadUnaligned(fromByteOffset: offset, as: Int32.self),
                        raw.loadUnaligned(fromByteOffset: offset + 4, as: UInt32.self),
                        Int(raw.loadUnaligned(fromByteOffset: offset + 12, as: UInt32.self))
                    )
                }
                guard offset + 16 + length <= count else { break }
                let name = String(decoding: buffer[(offset + 16)..<(offset + 16 + length)].prefix { $0 != 0 }, as: UTF8.self)
                offset += 16 + length
                handle(wd: wd, mask: mask, name: name, into: &changed)
            }
        }
        if !changed.isEmpty { onChange?(changed) }
    }

    private func handle(wd: Int32, mask: UInt32, name: String, into changed: inout [String]) {
        if mask & UInt32(IN_Q_OVERFLOW) != 0 {
            // Events were lost: say "something changed" for every root.
            changed += directories + files
            return
        }
        if mask & UInt32(IN_IGNORED) != 0 {
            watches[wd] = nil
            return
        }
        guard let watch = watches[wd] else { return }
        if name.isEmpty {
            if mask & UInt32(IN_DELETE_SELF) != 0 { changed.append(watch.directory) }
            return
        }
        let path = watch.directory == "/" ? "/\(name)" : "\(watch.directory)/\(name)"
        if watch.recursive {
            if mask & UInt32(IN_ISDIR) != 0, mask & UInt32(IN_CREATE | IN_MOVED_TO) != 0 {
                // A new subdirectory: watch it (and whatever was created in it before the watch existed).
                for directory in FileTree.directories(under: path) { try? add(directory, recursive: true, file: nil) }
            }
            changed.append(path)
        } else if watch.files.contains(name) {
            changed.append(path)
        }
    }
}
