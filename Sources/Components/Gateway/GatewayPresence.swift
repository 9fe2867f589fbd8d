// Who is online where, as every process sees it: a replica of each process's clients (their users and
// groups), rebuilt from the snapshots the processes publish, each expiring unless renewed.

/// A client as presence knows it: its id, the user it is bound to, its groups.
struct GatewayClientEntry: Hashable {
    var client: String
    var user: String?
    var groups: Set<String>
}

/// The replica: one snapshot per process (node), dropped when it is not renewed in time. A process that
/// crashes stops renewing, so its clients vanish from every other process within `lifetime` seconds.
///
/// Why a replica rather than queries to a store: `isOnline`, `count` and `users` are then answered
/// without a round trip, and the same code runs over a Channel server or Redis pub/sub.
struct GatewayPresence {
    private struct Snapshot {
        var clients: [GatewayClientEntry]
        var expires: Double
    }

    private var nodes: [String: Snapshot] = [:]

    /// Whether `node` was known before this snapshot (an unknown one is answered with ours).
    @discardableResult
    mutating func update(node: String, clients: [GatewayClientEntry], expires: Double) -> Bool {
        let known = nodes[node] != nil
        nodes[node] = Snapshot(clients: clients, expires: expires)
        return known
    }

    mutating func remove(node: String) { nodes[node] = nil }

    /// Drops the snapshots not renewed by `now`.
    mutating func expire(now: Double) {
        nodes = nodes.filter { $0.value.expires > now }
    }

    var nodeCount: Int { nodes.count }

    private var allClients: some Sequence<GatewayClientEntry> { nodes.values.lazy.flatMap(\.clients) }

    func isOnline(user: String) -> Bool { allClients.contains { $0.user == user } }

    func clients(ofUser user: String) -> [String] { allClients.filter { $0.user == user }.map(\.client).sorted() }

    func count(group: String) -> Int { allClients.filter { $0.groups.contains(group) }.count }

    func count() -> Int { allClients.reduce(0) { count, _ in count + 1 } }

    /// The distinct users bound by clients in `group`, sorted.
    func users(inGroup group: String) -> [String] {
        Set(allClients.filter { $0.groups.contains(group) }.compactMap(\.user)).sorted()
    }
}
