// The command line `runAll()` obeys, parsed as Workerman's CLI: a command and its flags in any order,
// and a usage error (exit code 2) for anything else, naming what was wrong.

import Testing
import WorkermanProcess

@Suite("ControlCommand")
struct ControlCommandTests {
    @Test(
        "every command with the flags it takes, in any order",
        arguments: [
            (["start"], ControlCommand.start(daemon: false)),
            (["start", "-d"], .start(daemon: true)),
            (["-d", "start"], .start(daemon: true)),
            (["-q", "start"], .start(daemon: false)),
            (["stop"], .stop(graceful: false)),
            (["-g", "stop"], .stop(graceful: true)),
            (["restart"], .restart(daemon: false, graceful: false)),
            (["restart", "-g", "-d"], .restart(daemon: true, graceful: true)),
            (["reload"], .reload(graceful: false)),
            (["reload", "-g"], .reload(graceful: true)),
            (["upgrade"], .upgrade),
            (["status"], .status(live: false)),
            (["status", "-d"], .status(live: true)),
            (["connections"], .connections),
        ]
    )
    func parses(arguments: [String], expected: ControlCommand) throws {
        #expect(try ControlCommand.parse(arguments) == expected)
    }

    @Test(
        "usage errors name the problem",
        arguments: [
            ([], "no command given"),
            (["begin"], "unknown command: begin"),
            (["start", "-x"], "unknown flag: -x"),
            (["start", "stop"], "more than one command: start and stop"),
            (["start", "-g"], "start does not take -g"),
            (["stop", "-d"], "stop does not take -d"),
            (["reload", "-d"], "reload does not take -d"),
            (["upgrade", "-g"], "upgrade does not take -g"),
            (["upgrade", "-d"], "upgrade does not take -d"),
            (["status", "-g"], "status does not take -g"),
            (["connections", "-d"], "connections does not take -d"),
            (["connections", "-g"], "connections does not take -g"),
        ]
    )
    func rejects(arguments: [String], detail: String) {
        #expect {
            try ControlCommand.parse(arguments)
        } throws: { error in
            guard let error = error as? ProcessError else { return false }
            return error.code == .usage && error.detail == detail
        }
    }

    @Test("the usage text names the program and every command")
    func usage() {
        let text = ControlCommand.usage(program: "./app")
        #expect(text.hasPrefix("Usage: ./app <command> [mode]"))
        for command in ["start", "stop", "restart", "reload", "upgrade", "status", "connections"] {
            #expect(text.contains("\n\(command)\t"), "\(command) is listed")
        }
    }
}

@Suite("Workers namespace")
struct WorkersNamespaceTests {
    /// `Workers.settings` is the non-generic home; Workerman's `Worker.settings` is the same storage.
    @Test func settingsAreOneStorageUnderTwoNames() {
        let saved = Workers.settings
        defer { Workers.settings = saved }
        Workers.settings.processTitle = "Namespace"
        #expect(Worker.settings.processTitle == "Namespace")
        Worker.settings.processTitle = "Back"
        #expect(Workers.settings.processTitle == "Back")
    }
}

@Suite("Master secret")
struct MasterSecretTests {
    /// Each master makes its own: 32 random bytes, handed to children as 64 hex digits.
    @Test func eachMasterMakesANewSecret() throws {
        MasterSecret.makeForMaster()
        let first = try #require(MasterSecret.seed)
        MasterSecret.makeForMaster()
        let second = try #require(MasterSecret.seed)
        #expect(first.count == 32 && second.count == 32)
        #expect(first != second)
    }
}
