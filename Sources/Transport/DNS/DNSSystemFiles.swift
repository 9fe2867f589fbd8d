import WorkermanEventLoop

#if canImport(Glibc)
import Glibc
#endif

/// Keeps a resolver's configuration and hosts table in step with `/etc/resolv.conf` and `/etc/hosts`
/// without reading them per lookup: each is read once, and afterwards at most once per `interval` a
/// `stat` of both tells whether one changed (modification time, size or inode: an editor's rename counts),
/// and only a changed file is read again. A `stat` of a local file does not wait on anything; reading
/// a small changed file is the one file read a lookup can cause, once per change.
struct DNSSystemFiles {
    struct Stamp: Equatable {
        var seconds: Int
        var nanoseconds: Int
        var size: Int
        var inode: UInt
    }

    let resolvPath: String
    let hostsPath: String
    /// Nanoseconds between checks.
    let interval: UInt64
    private var nextCheck: UInt64 = 0
    private var resolvStamp: Stamp?
    private var hostsStamp: Stamp?
    private var loaded = false
    /// Files read so far, and `stat` rounds: the tests check these do not grow per lookup.
    private(set) var reads = 0
    private(set) var checks = 0

    init(resolvPath: String, hostsPath: String, interval: Double) {
        self.resolvPath = resolvPath
        self.hostsPath = hostsPath
        self.interval = UInt64(max(0, interval) * 1e9)
    }

    /// Reads what changed since the last look (everything, the first time), if `interval` has passed.
    mutating func refresh(now: UInt64, configuration: inout ResolverConfiguration, hosts: inout HostsFile) {
        guard now >= nextCheck else { return }
        nextCheck = now &+ interval
        checks += 1
        let resolv = Self.stamp(resolvPath)
        if !loaded || resolv != resolvStamp {
            resolvStamp = resolv
            configuration = .system(path: resolvPath)
            reads += 1
        }
        let table = Self.stamp(hostsPath)
        if !loaded || table != hostsStamp {
            hostsStamp = table
            hosts = .system(path: hostsPath)
            reads += 1
        }
        loaded = true
    }

    static func stamp(_ path: String) -> Stamp? {
        guard let info = try? Syscalls.status(path) else { return nil }
        return Stamp(seconds: Int(info.st_mtim.tv_sec), nanoseconds: Int(info.st_mtim.tv_nsec), size: Int(info.st_size), inode: UInt(info.st_ino))
    }
}
