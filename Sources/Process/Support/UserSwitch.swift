import WorkermanEventLoop

#if canImport(Glibc)
import Glibc
#endif

/// Switches a child to the worker's user and group after its sockets are bound (Workerman §5.11): setgid,
/// initgroups, setuid. The master keeps its own user, to bind low ports and signal its children.
enum UserSwitch {
    static func apply(user: String?, group: String?) throws(ProcessError) {
        guard let user else { return }
        guard let account = getpwnam(user) else {
            throw ProcessError(.userSwitchFailed, "switch to user \(user)", detail: "no such user")
        }
        var gid = account.pointee.pw_gid
        if let group {
            guard let entry = getgrnam(group) else {
                throw ProcessError(.userSwitchFailed, "switch to group \(group)", detail: "no such group")
            }
            gid = entry.pointee.gr_gid
        }
        let uid = account.pointee.pw_uid
        guard uid != getuid() || gid != getgid() else { return }
        guard getuid() == 0 else {
            throw ProcessError(.userSwitchFailed, "switch to user \(user)", detail: "root privileges are needed to change uid and gid")
        }
        guard setgid(gid) == 0, initgroups(user, gid) == 0, setuid(uid) == 0 else {
            throw ProcessError(.userSwitchFailed, "switch to user \(user)", cause: Errno(rawValue: errno))
        }
    }

    /// The name of the user running this process.
    static var currentUser: String {
        guard let account = getpwuid(getuid()) else { return "\(getuid())" }
        return String(cString: account.pointee.pw_name)
    }
}
