import CWorkermanShims

/// Renames the running process as `ps` and `top` show it, so `strace -p` finds the right one:
/// `WorkerMan: master process  start_file=/path/app`, `WorkerMan: worker process  chat websocket://…`.
enum ProcessTitle {
    static func set(_ title: String) {
        _ = wm_set_process_title(CommandLine.argc, CommandLine.unsafeArgv, title)
        wm_set_thread_name(String(title.utf8.prefix(15)) ?? "WorkerMan")
    }
}
