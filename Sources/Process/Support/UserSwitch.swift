import WorkermanEventLoop

#if canImport(Glibc)
import Glibc
#endif

/// Switches a child to the worker's user and group after its sockets are bound: setgid,
/// initgroups, setuid. The master keeps its own user, to bind low ports and signal its children.
///
/// Unlike Workerman, which warns ("User X not exists") and runs the child as the master's user, an
/// unknown user or group, or a switch without root privileges, fails `start` before anything starts
/// (`check`): a worker that asked to drop root must never serve as root, and a child that fails at start
/// would only be restarted over and over.
enum UserSwitch {
    /// A resolved user and group.
    struct Account: Equatable {
        let name: String
        let uid: uid_t
        let gid: gid_t
    }

    /// Looks up `user` (default: the current user, when only a group is given) and `group` (default: the
    /// user's primary group); nil when the worker sets neither.
    static func resolve(user: String?, group: String?) throws(ProcessError) -> Account? {
        guard user != nil || group != nil else { return nil }
        let name = user ?? currentUser
        guard let account = getpwnam(name) else {
            throw ProcessError(.userSwitchFailed, "switch to user \(name)", detail: "no such user")
        }
        var gid = account.pointee.pw_gid
        if let group {
            guard let entry = getgrnam(group) else {
                throw ProcessError(.userSwitchFailed, "switch to group \(group)", detail: "no such group")
            }
            gid = entry.pointee.gr_gid
        }
        return Account(name: name, uid: account.pointee.pw_uid, gid: gid)
    }

    /// Whether running as `account` needs a change of uid or gid.
    static func isSwitch(to account: Account) -> Bool {
        account.uid != getuid() || account.gid != getgid()
    }

    /// Checks every worker's user and group at `start`, before anything starts.
    static func check(_ plan: [WorkerBase]) throws(ProcessError) {
        for worker in plan {
            guard let account = try resolve(user: worker.user, group: worker.group), isSwitch(to: account) else { continue }
            guard getuid() == 0 else {
                throw ProcessError(
                    .userSwitchFailed,
                    "switch worker \(worker.name) to user \(account.name)",
                    detail: "root privileges are needed to change uid and gid"
                )
            }
        }
    }

    /// Whether any worker's processes run as another user than the master's.
    static func anySwitch(in plan: [WorkerBase]) -> Bool {
        plan.contains { worker in
            (try? resolve(user: worker.user, group: worker.group)).flatMap { $0 }.map(isSwitch(to:)) ?? false
        }
    }

    /// Switches this process (a child, after binding) to the worker's user and group.
    static func apply(user: String?, group: String?) throws(ProcessError) {
        guard let account = try resolve(user: user, group: group), isSwitch(to: account) else { return }
        guard getuid() == 0 else {
            throw ProcessError(.userSwitchFailed, "switch to user \(account.name)", detail: "root privileges are needed to change uid and gid")
        }
        do {
            try Syscalls.switchIdentity(user: account.name, uid: account.uid, gid: account.gid)
        } catch {
            throw ProcessError(.userSwitchFailed, "switch to user \(account.name)", cause: error)
        }
    }

    /// The name of the user running this process.
    static var currentUser: String {
        guard let account = getpwuid(getuid()) else { return "\(getuid())" }
        return String(cString: account.pointee.pw_name)
    }
}
