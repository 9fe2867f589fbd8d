import WorkermanEventLoop
import WorkermanTransport

/// Process-wide settings of `runAll()` (Workerman's static `Worker::$daemonize`, `$pidFile`, …), read
/// when `runAll()` starts.
///
/// ```swift
/// Worker.settings.pidFile = "/run/chat.pid"
/// Worker.settings.stopTimeout = 5
/// ```
public struct ProcessSettings: Sendable, Hashable {
    /// Run detached from the terminal (also `start -d`).
    public var daemonize = false
    /// The master's pid file. Default: next to the executable, `<executable>.pid`.
    public var pidFile: String?
    /// The framework log (start, stop, exit statuses). Default: `workerman.log` next to the executable.
    public var logFile: String?
    /// Where a daemon's stdout and stderr go. Default `/dev/null`.
    public var stdoutFile = "/dev/null"
    /// The shared-memory status board. Default: the pid file's path + `.status`.
    public var statusFile: String?
    /// Seconds a stopping or reloading process gets before it is killed (Workerman's `stopTimeout`, 2).
    public var stopTimeout = 2.0
    /// Seconds a graceful stop or reload waits for connections to finish before closing them
    /// (Workerman waits for ever).
    public var gracefulStopTimeout = 30.0
    /// Seconds a draining keep-alive (HTTP) connection may stay idle before it is closed: until then
    /// its next request is answered, with `Connection: close` (at most half the stop's timeout).
    public var keepAliveDrainGrace = 1.0
    /// Where the master serves metrics (`host:port`, e.g. `127.0.0.1:9100`): `GET /metrics` answers the
    /// status board in the Prometheus text format. Nil (the default): no metrics listener. A bad or busy
    /// address fails `start`.
    public var metricsAddress: String?
    /// Seconds `upgrade` waits for the new master's children to serve; past that the new master is
    /// killed and the old one keeps serving.
    public var upgradeTimeout = 30.0
    /// The prefix of process titles, as Workerman's `processTitle`.
    public var processTitle = "WorkerMan"

    public init() {}
}

extension WorkerRegistry {
    static let settingsLock = SettingsBox()
}

/// Holds the settings behind a lock so `Worker.settings` can be a plain static property.
final class SettingsBox: Sendable {
    private let storage = ThreadLock(ProcessSettings())  // a pthread mutex: ThreadSanitizer sees it

    var value: ProcessSettings {
        get { storage.withLock { $0 } }
        set { storage.withLock { $0 = newValue } }
    }
}

extension Worker where C == RawCodec {
    /// Workerman's spelling of `Workers.settings`.
    public static var settings: ProcessSettings {
        get { Workers.settings }
        set { Workers.settings = newValue }
    }
}
