// The small wrappers that replaced raw libc calls outside the syscall layer: access checks answer for
// missing and refused paths alike, and the command-line pause sleeps through a signal's interruption.

import Testing
import WorkermanEventLoop
import WorkermanTestSupport

#if canImport(Glibc)
import Glibc
#endif

@Suite("Syscall wrappers")
struct SyscallWrapperTests {
    @Test func accessAnswersForPresentMissingAndRefusedPaths() throws {
        let folder = try Syscalls.makeTemporaryDirectory(prefix: "/tmp/wm-access-")
        defer { try? Syscalls.removeDirectory(folder) }
        #expect(Syscalls.isAccessible(folder, [.readable, .writable]))
        #expect(!Syscalls.isAccessible(folder + "/missing", .readable))
        let file = try Syscalls.makeTemporaryFile(prefix: folder + "/f")
        defer { try? Syscalls.close(file.fd); try? Syscalls.unlink(file.path) }
        #expect(!Syscalls.isAccessible(file.path, .executable), "mkstemp makes mode 0600")
        try Syscalls.changeMode(file.path, 0o700)
        #expect(Syscalls.isAccessible(file.path, .executable))
    }

    @Test func pauseLastsAtLeastWhatWasAsked() {
        let started = MonotonicClock.now()
        Syscalls.pause(milliseconds: 15)
        #expect(MonotonicClock.now() - started >= 15_000_000)
    }
}
