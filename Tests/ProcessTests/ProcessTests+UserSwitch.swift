// `user` / `group`: children switch after binding; the master keeps its own user.
// Workerman warns about an unknown user and runs the child as the master's user; we refuse to start.

import Testing
import WorkermanProcess

#if canImport(Glibc)
import Glibc
#endif

/// Tests that switch users need root, as switching does.
private let isRoot = getuid() == 0

extension ProcessTests {
    @Test(.enabled(if: isRoot, "switching users needs root"))
    func childrenRunAsTheWorkersUserAfterBindingAPrivilegedPort() async throws {
        let nobody = try #require(getpwnam("nobody"), "no user nobody on this machine")
        let expected = ProcessIdentity(uid: nobody.pointee.pw_uid, gid: nobody.pointee.pw_gid, groups: [])
        // A port below 1024, bound by each child (reusePort) before it drops root: only root may bind it.
        let reservation = try #require(ReusePortReservation.privileged(), "no free port in 900...1023")
        let environment = [
            "WM_USER": "nobody", "WM_REUSE_PORT": "1", "WM_PORT": String(reservation.port), "WM_GRACEFUL_TIMEOUT": "0.5",
        ]
        try await withTestServer(environment) { server in
            // The test directory may be entered but not written by nobody, as a directory next to an
            // installed executable usually is: a child cannot create files here (so it writes no port file).
            chmod(server.directory, 0o755)
            let start = try await server.run(["start", "-d"])
            #expect(start.status == 0, "\(start)")
            let startRow = start.output.split(separator: "\n").first { $0.contains(" echo ") }
            #expect(startRow?.split(separator: " ").dropFirst().first == "nobody", "\(start)")
            try await server.waitUntilServing(3)
            let master = try #require(server.masterPID())
            let echo = server.echoChildren()
            #expect(echo.count == 2)
            for pid in echo {
                let identity = ProcessIdentity(pid: pid)
                #expect(identity?.uid == expected.uid && identity?.gid == expected.gid, "\(pid): \(String(describing: identity))")
                // initgroups: root's supplementary groups are gone.
                #expect(identity?.groups.contains(0) == false, "\(pid): \(String(describing: identity))")
            }
            #expect(ProcessIdentity(pid: master)?.uid == 0)
            #expect(server.tickerChild().flatMap { ProcessIdentity(pid: $0)?.uid } == 0)

            let port = reservation.port
            let client = try Client(port: port)
            let served = try client.servingPID()
            #expect(echo.contains(served))
            #expect(try client.echo("as nobody") == "as nobody")

            // `connections` hears from a child that cannot create files next to the pid file.
            let connections = try await server.run(["connections"])
            #expect(connections.status == 0, "\(connections)")
            #expect(!connections.output.contains("[busy]"), "\(connections)")
            #expect(connections.output.split(separator: "\n").contains { $0.hasPrefix("\(served) ") && $0.hasSuffix(":\(client.localPort)") }, "\(connections)")

            // A graceful stop with the client still open: after 0.5 s the child closes it and says so in
            // the log, which it can append to although the master made it.
            let stop = try await server.run(["stop", "-g"])
            #expect(stop.status == 0, "\(stop)")
            #expect(server.log.contains("pid:\(served) worker[echo:\(served)] closing 1 remaining connection(s)"), "\(server.log)")
            #expect(server.livingProcesses().isEmpty)
        }
    }

    @Test(arguments: [["WM_USER": "wm-no-such-user"], ["WM_USER": "nobody", "WM_GROUP": "wm-no-such-group"]])
    func anUnknownUserOrGroupFailsTheStartBeforeAnythingStarts(environment: [String: String]) async throws {
        try await withTestServer(environment) { server in
            let name = environment["WM_GROUP"] ?? environment["WM_USER"]!
            for arguments in [["start", "-d"], ["start"]] {
                let result = try await server.run(arguments)
                #expect(result.status == 1, "\(arguments): \(result)")
                #expect(result.errors.contains(name), "\(arguments): \(result)")
                #expect(result.errors.contains(environment["WM_GROUP"] == nil ? "no such user" : "no such group"), "\(arguments): \(result)")
                #expect(!result.output.contains("Start success"), "\(arguments): \(result)")
                #expect(!fileExists(server.pidFile), "\(arguments)")
                #expect(server.livingProcesses().isEmpty, "\(arguments)")
            }
        }
    }
}
