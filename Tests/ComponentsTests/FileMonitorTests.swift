import Testing
import WorkermanEventLoop

@testable import WorkermanComponents

#if canImport(Glibc)
import Glibc
#endif

/// Runs a watcher on a fresh directory and collects what it reports.
private final class WatchFixture {
    let testLoop: TestLoop
    let directory: String
    var changes: [String] = []

    init() throws {
        testLoop = try TestLoop()
        directory = try makeTemporaryDirectory("wm-watch")
    }

    deinit { removeDirectory(directory) }

    func start(_ watcher: FileWatcher) throws {
        try watcher.start(on: testLoop.loop) { [unowned self] paths in self.changes += paths }
    }

    func waitFor(_ path: String) throws {
        try testLoop.run(until: "a change of \(path) (have \(changes))") { self.changes.contains(path) }
    }
}

@Suite("FileMonitor watchers, debouncing and filtering")
struct FileMonitorTests {
    @Test("inotify sees writes, new files in new subdirectories, renames and deletes")
    func inotify() throws {
        let fixture = try WatchFixture()
        let watcher = InotifyWatcher(directories: [fixture.directory], files: [])
        try fixture.start(watcher)
        defer { watcher.stop() }
        try writeFile("\(fixture.directory)/a.swift", "1")
        try fixture.waitFor("\(fixture.directory)/a.swift")
        mkdir("\(fixture.directory)/sub", 0o755)
        try fixture.waitFor("\(fixture.directory)/sub")
        try writeFile("\(fixture.directory)/sub/b.swift", "2")
        try fixture.waitFor("\(fixture.directory)/sub/b.swift")
        rename("\(fixture.directory)/sub/b.swift", "\(fixture.directory)/c.swift")
        try fixture.waitFor("\(fixture.directory)/c.swift")
        unlink("\(fixture.directory)/a.swift")
        fixture.changes.removeAll()
        try writeFile("\(fixture.directory)/d.swift", "3")
        try fixture.waitFor("\(fixture.directory)/d.swift")
    }

    @Test("a single watched file is seen when replaced by rename (how linkers and editors write)")
    func fileReplacedByRename() throws {
        let fixture = try WatchFixture()
        let target = "\(fixture.directory)/app"
        try writeFile(target, "old binary")
        let watcher = InotifyWatcher(directories: [], files: [target])
        try fixture.start(watcher)
        defer { watcher.stop() }
        try writeFile("\(fixture.directory)/unrelated", "x")
        try writeFile("\(fixture.directory)/app.tmp", "new binary")
        rename("\(fixture.directory)/app.tmp", target)
        try fixture.waitFor(target)
        #expect(!fixture.changes.contains("\(fixture.directory)/unrelated"))
    }

    @Test("polling sees changes, appearances and removals")
    func polling() throws {
        let fixture = try WatchFixture()
        try writeFile("\(fixture.directory)/kept.txt", "1")
        try writeFile("\(fixture.directory)/gone.txt", "1")
        let watcher = PollingWatcher(directories: [fixture.directory], files: [], interval: 0.05)
        try fixture.start(watcher)
        defer { watcher.stop() }
        try writeFile("\(fixture.directory)/kept.txt", "changed size")
        try writeFile("\(fixture.directory)/new.txt", "1")
        unlink("\(fixture.directory)/gone.txt")
        try fixture.waitFor("\(fixture.directory)/kept.txt")
        try fixture.waitFor("\(fixture.directory)/new.txt")
        try fixture.waitFor("\(fixture.directory)/gone.txt")
    }

    @Test("the debouncer turns a burst into one firing, and a later change into another")
    func debounce() throws {
        let testLoop = try TestLoop()
        var firings: [[String]] = []
        let debouncer = ChangeDebouncer(loop: testLoop.loop, quiet: 0.1, maxDelay: 5) { firings.append($0) }
        for index in 0..<20 { debouncer.add(["f\(index)", "f\(index)"]) }
        try testLoop.run(until: "one firing") { !firings.isEmpty }
        try testLoop.run(for: 0.2)
        #expect(firings.count == 1)
        #expect(firings.first == (0..<20).map { "f\($0)" })
        debouncer.add(["late"])
        try testLoop.run(until: "a second firing") { firings.count == 2 }
        #expect(firings.last == ["late"])
    }

    @Test("the debouncer fires within maxDelay even while changes keep coming")
    func maxDelay() throws {
        let testLoop = try TestLoop()
        var fired = 0
        let debouncer = ChangeDebouncer(loop: testLoop.loop, quiet: 0.1, maxDelay: 0.3) { _ in fired += 1 }
        let feeder = try testLoop.loop.addTimer(every: 0.02) { debouncer.add(["busy"]) }
        defer { testLoop.loop.cancelTimer(feeder) }
        let started = monotonicSeconds()
        try testLoop.run(until: "a firing despite the stream", seconds: 3) { fired > 0 }
        #expect(monotonicSeconds() - started < 1)
    }

    @Test("the filter counts extensions and skips editor files")
    func filter() {
        var filter = FileFilter(extensions: ["swift", "html"])
        #expect(filter.matches("/app/Sources/main.swift"))
        #expect(filter.matches("/app/Public/index.html"))
        #expect(!filter.matches("/app/Sources/notes.txt"))
        #expect(!filter.matches("/app/Sources/.main.swift.swp"))
        #expect(!filter.matches("/app/Sources/main.swift~"))
        #expect(!filter.matches("/app/Sources/4913"))
        filter.include = { !$0.contains("/.build/") }
        #expect(!filter.matches("/app/.build/debug/x.swift"))
        #expect(FileFilter().matches("/app/Makefile"))
    }
}
