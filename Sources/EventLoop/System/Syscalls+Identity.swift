import CWorkermanShims

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import CWorkermanShims

/// What `access(2)` checks a path for.
package struct FileAccess: OptionSet, Sendable {
    package let rawValue: CInt
    package init(rawValue: CInt) { self.rawValue = rawValue }

    package static let readable = FileAccess(rawValue: R_OK)
    package static let writable = FileAccess(rawValue: W_OK)
    package static let executable = FileAccess(rawValue: X_OK)
}

extension Syscalls {
    /// Wraps `access(2)`: whether this process (by its real uid) may use `path` as `mode` says. A path
    /// that is missing or refused answers false alike: the callers only ask "may I?".
    package static func isAccessible(_ path: String, _ mode: FileAccess) -> Bool {
        (try? retrying("access") { Glibc.access(path, mode.rawValue) }) != nil
    }

    /// Wraps `nanosleep(2)`: blocks the calling thread for `milliseconds`, sleeping on for what is left
    /// when a signal interrupts it. Only for command-line polling, never on a loop thread.
    package static func pause(milliseconds: Int) {
        var request = timespec(tv_sec: milliseconds / 1000, tv_nsec: (milliseconds % 1000) * 1_000_000)
        var remaining = timespec()
        while nanosleep(&request, &remaining) != 0 && errno == EINTR {
            request = remaining
        }
    }

    /// Makes this process run as `uid`/`gid` with the supplementary groups of `user`, in the only safe
    /// order (`setgid`, `initgroups`, then `setuid`: once the uid is dropped the others are refused).
    package static func switchIdentity(user: String, uid: uid_t, gid: gid_t) throws(Errno) {
        _ = try retrying("setgid") { setgid(gid) }
        _ = try retrying("initgroups") { initgroups(user, gid) }
        _ = try retrying("setuid") { setuid(uid) }
    }
}
