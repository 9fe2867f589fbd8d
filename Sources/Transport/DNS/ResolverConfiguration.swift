import WorkermanEventLoop

/// What `/etc/resolv.conf` says (or what a program sets): the name servers, the search list and the
/// options the resolver honours (`ndots`, `timeout`, `attempts`, `rotate`).
///
/// ```swift
/// var configuration = ResolverConfiguration.system()
/// configuration.nameservers = [try SocketAddress(ip: "127.0.0.1", port: 5353)]
/// configuration.timeout = 1
/// ```
public struct ResolverConfiguration: Sendable, Equatable {
    /// Servers asked in order (from a rotating start with `rotate`); port 53 unless set.
    public var nameservers: [SocketAddress] = []
    /// Domains appended to a name with fewer than `ndots` dots (first), or after the name itself.
    public var search: [String] = []
    /// A name with at least this many dots is tried as is before the search list.
    public var ndots = 1
    /// Seconds to wait for one server's answer before asking the next.
    public var timeout = 5.0
    /// Rounds over all servers before giving up.
    public var attempts = 2
    /// Start each lookup at the next server, spreading load.
    public var rotate = false

    public init() {}

    /// The system's configuration (`/etc/resolv.conf`); a file that is missing or names no server means
    /// 127.0.0.1, as glibc does.
    public static func system(path: String = "/etc/resolv.conf") -> ResolverConfiguration {
        let text = (try? Syscalls.readFile(path)).map { String(decoding: $0, as: UTF8.self) } ?? ""
        return parse(text)
    }

    /// Parses resolv.conf text; unknown lines and malformed values are skipped (as glibc does).
    public static func parse(_ text: String) -> ResolverConfiguration {
        var configuration = ResolverConfiguration()
        for rawLine in text.split(whereSeparator: { $0 == "\n" || $0 == "\r" }) {
            let fields = rawLine.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
            guard let keyword = fields.first, !keyword.hasPrefix("#"), !keyword.hasPrefix(";") else { continue }
            let values = fields.dropFirst().prefix { !$0.hasPrefix("#") && !$0.hasPrefix(";") }
            switch keyword {
            case "nameserver":
                // glibc reads three; a scoped IPv6 (`fe80::1%eth0`) is not a numeric address for us.
                if let ip = values.first, configuration.nameservers.count < 3, let address = try? SocketAddress(ip: ip, port: 53) {
                    configuration.nameservers.append(address)
                }
            case "search":
                configuration.search = values.map { $0.hasSuffix(".") ? String($0.dropLast()) : $0 }.filter { !$0.isEmpty }
            case "domain":
                if let domain = values.first { configuration.search = [domain] }
            case "options":
                for option in values { configuration.apply(option: option) }
            default:
                continue
            }
        }
        if configuration.nameservers.isEmpty, let local = try? SocketAddress(ip: "127.0.0.1", port: 53) {
            configuration.nameservers = [local]
        }
        return configuration
    }

    private mutating func apply(option: String) {
        let parts = option.split(separator: ":", maxSplits: 1).map(String.init)
        let value = parts.count == 2 ? Int(parts[1]) : nil
        switch parts[0] {
        case "ndots": if let value { ndots = min(max(value, 0), 15) }
        case "timeout": if let value { timeout = Double(min(max(value, 1), 30)) }
        case "attempts": if let value { attempts = min(max(value, 1), 5) }
        case "rotate": rotate = true
        default: break
        }
    }

    /// The names to ask for `host`, in order (glibc's `res_search` rules): a trailing dot means only
    /// the name; with at least `ndots` dots the name comes before the search list, else after it.
    public func candidates(for host: String) -> [String] {
        if host.hasSuffix(".") { return [String(host.dropLast())] }
        let dots = host.utf8.count { $0 == UInt8(ascii: ".") }
        let searched = search.map { host + "." + $0 }
        return dots >= ndots ? [host] + searched : searched + [host]
    }
}

/// The static table of `/etc/hosts`: names (lower-cased) to addresses, first listed first.
///
/// ```swift
/// let hosts = HostsFile.parse("127.0.0.1 localhost\n10.0.0.7 db db.internal\n")
/// hosts.addresses(for: "DB")   // ["10.0.0.7"]
/// ```
public struct HostsFile: Sendable, Equatable {
    public private(set) var entries: [String: [String]] = [:]

    public init() {}

    public static func system(path: String = "/etc/hosts") -> HostsFile {
        parse((try? Syscalls.readFile(path)).map { String(decoding: $0, as: UTF8.self) } ?? "")
    }

    public static func parse(_ text: String) -> HostsFile {
        var file = HostsFile()
        for rawLine in text.split(whereSeparator: { $0 == "\n" || $0 == "\r" }) {
            let line = rawLine.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
            let fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
            guard fields.count >= 2, (try? SocketAddress(ip: fields[0], port: 0)) != nil else { continue }
            for name in fields.dropFirst() {
                let key = name.lowercased()
                if !(file.entries[key]?.contains(fields[0]) ?? false) { file.entries[key, default: []].append(fields[0]) }
            }
        }
        return file
    }

    /// The addresses listed for `name` (any case, trailing dot ignored).
    public func addresses(for name: String) -> [String] {
        if entries.isEmpty { return [] }
        let key = (name.hasSuffix(".") ? String(name.dropLast()) : name).lowercased()
        return entries[key] ?? []
    }
}
