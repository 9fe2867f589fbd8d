// The pid file before it is obeyed: only a live process whose command line carries the marker counts;
// missing, garbage, stale (the process is gone), our own pid and a foreign process are all "no master".
// Also the start-time check that the file can be written, which must leave nothing behind.

import Testing
import WorkermanEventLoop
import WorkermanTestSupport

@testable import WorkermanProcess

#if canImport(Glibc)
import Glibc
#endif

@Suite("PidFile")
struct PidFileTests {
    /// A pid above any `pid_max` Linux allows (2^22): no process can have it.
    static let impossiblePID = pid_t(Int32.max)

    /// A child that waits until killed, once its command line shows. Not `sleep`: the supervision tests'
    /// clean-up counts `sleep` children of the test runner among its own.
    static func idleChild() throws -> pid_t {
        let child = try ChildProcess.spawn("tail", ["-f", "/dev/null"], searchPath: true)
        // posix_spawn returns while the kernel is still inside exec: `/proc/<pid>/cmdline` reads empty
        // until the new program's arguments are set up, a window that widens under load.
        _ = WaitUntil.holds(within: 10) { ProcessTable.commandLine(of: child).hasPrefix("tail") }
        return child
    }

    @Test("missing, garbage, stale and our own pid are no live master")
    func notAMaster() throws {
        let directory = try TestFiles.makeTemporaryDirectory("wm-pidfile")
        defer { TestFiles.removeTree(directory) }
        let pidFile = PidFile(path: directory + "/app.pid", marker: "anything")
        #expect(pidFile.liveMaster() == nil, "missing")
        for text in ["", "not a pid\n", "-5\n", "0\n", "\(Self.impossiblePID)\n", "\(getpid())\n"] {
            try TestFiles.write(text, to: pidFile.path)
            #expect(pidFile.liveMaster() == nil, "pid file \(text.debugDescription)")
        }
    }

    @Test("a live process counts only when its command line carries the marker")
    func liveProcessAndMarker() throws {
        let directory = try TestFiles.makeTemporaryDirectory("wm-pidfile")
        defer { TestFiles.removeTree(directory) }
        let child = try Self.idleChild()
        defer { ChildProcess.killAndReap(child) }
        let path = directory + "/app.pid"
        try PidFile(path: path, marker: "tail").write(child)
        #expect(TestFiles.readText(path) == "\(child)\n")
        #expect(
            PidFile(path: path, marker: "tail").liveMaster() == child,
            "pid \(child): exists \(processExists(child)), command line \(ProcessTable.commandLine(of: child).debugDescription)"
        )
        #expect(PidFile(path: path, marker: "workerman-master").liveMaster() == nil, "a reused pid of another program")
        PidFile(path: path, marker: "tail").remove()
        #expect(TestFiles.readText(path) == nil)
    }

    @Test("processHasExited: false while running, true once it exited even before it is reaped")
    func exitedBeforeReaping() throws {
        let child = try Self.idleChild()
        #expect(!processHasExited(child))
        #expect(processExists(child))
        kill(child, SIGKILL)
        // A zombie until reaped; the kernel kills it asynchronously, so wait (bounded) until it has.
        #expect(WaitUntil.holds(within: 10) { processHasExited(child) }, "a killed, unreaped child counts as exited")
        #expect(ChildProcess.waitForExit(child, seconds: 5) != 0)
        #expect(processHasExited(Self.impossiblePID))
        #expect(!processExists(Self.impossiblePID))
    }

    @Test("checkWritable: a file it had to create is removed again; a missing folder is a clear error")
    func checkWritable() throws {
        let directory = try TestFiles.makeTemporaryDirectory("wm-pidfile")
        defer { TestFiles.removeTree(directory) }
        let pidFile = PidFile(path: directory + "/app.pid", marker: "x")
        try pidFile.checkWritable()
        #expect(TestFiles.names(in: directory).isEmpty, "nothing left behind")
        try TestFiles.write("123\n", to: pidFile.path)
        try pidFile.checkWritable()
        #expect(TestFiles.readText(pidFile.path) == "123\n", "an existing file is left as it was")

        let nowhere = PidFile(path: directory + "/missing/app.pid", marker: "x")
        #expect {
            try nowhere.checkWritable()
        } throws: { error in
            guard let error = error as? ProcessError else { return false }
            return error.code == .fileUnwritable && error.cause == .noSuchFileOrDirectory
                && error.operation.contains("missing/app.pid")
        }
    }
}
