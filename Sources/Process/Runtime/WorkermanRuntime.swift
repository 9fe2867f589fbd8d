import WorkermanEventLoop

#if canImport(Glibc)
import Glibc
#endif

/// Where `runAll()` goes: a child serves its worker; a daemon master supervises; otherwise the command
/// line says what to do.
enum WorkermanRuntime {
    static func runAll(arguments: [String]) -> Never {
        let plan = WorkerRegistry.shared.seal()
        let settings = WorkerRegistry.settingsLock.value
        _ = MasterSecret.seed  // a child takes it out of its environment before the program goes on
        let role = ChildEnvironment.take()
        switch role[ChildEnvironment.role] {
        case "worker":
            ChildRuntime(plan: plan, settings: settings, role: role).run()
        case "master":
            let cli = CommandLineRunner(plan: plan, settings: settings)
            // `start -d` starts a daemon master; `upgrade` starts one like the master it replaces.
            let handover = MasterHandover(role: role)
            exit(cli.runMaster(daemon: handover == nil || role[ChildEnvironment.daemon] != nil, handover: handover))
        default:
            let cli = CommandLineRunner(plan: plan, settings: settings)
            exit(cli.run(arguments: arguments))
        }
    }
}
