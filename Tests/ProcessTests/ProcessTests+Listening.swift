// `reusePort` workers: no listener in the master, one SO_REUSEPORT socket per child.

import Testing
import WorkermanProcess

#if canImport(Glibc)
import Glibc
#endif

extension ProcessTests {
    @Test func reusePortGivesEveryChildItsOwnListenerAndTheKernelSpreadsConnections() async throws {
        let reservation = try ReusePortReservation()
        try await withTestServer(["WM_REUSE_PORT": "1", "WM_PORT": String(reservation.port)]) { server in
            let port = try await server.startDaemon()
            #expect(port == reservation.port)
            let master = try #require(server.masterPID())
            let echo = server.echoChildren()
            #expect(echo.count == 2)

            // Two listening sockets on the port (the reservation does not listen): one in each echo child,
            // none in the master.
            let listening = listeningSocketInodes(port: port)
            #expect(listening.count == 2, "\(listening)")
            #expect(socketInodes(of: master).isDisjoint(with: listening))
            for pid in echo { #expect(socketInodes(of: pid).intersection(listening).count == 1, "child \(pid)") }

            // The kernel hashes each new connection to one of the sockets: both children answer within a
            // bounded number of connections (all to one would happen with probability 2^-199).
            var answered = Set<pid_t>()
            var connections = 0
            while answered != echo && connections < 200 {
                connections += 1
                answered.insert(try Client(port: port).servingPID())
            }
            #expect(answered == echo, "\(connections) connections answered by \(answered), children \(echo)")

            // A reload binds the port again in every new child.
            let reload = try await server.run(["reload"])
            #expect(reload.status == 0, "\(reload)")
            var after = Set<pid_t>()
            try await waitUntil("the echo children replaced", seconds: 10) {
                after = server.echoChildren()
                return after.count == 2 && after.isDisjoint(with: echo) && server.log.contains("reload done")
            }
            try await waitUntil("two listeners again", seconds: 5) { listeningSocketInodes(port: port).count == 2 }
            for _ in 0..<10 { #expect(after.contains(try Client(port: port).servingPID())) }
        }
    }
}
