import WorkermanEventLoop
import WorkermanRedis
import WorkermanTransport

// Presence across machines on Redis, as sets with expiry: each process (node) keeps, per user and per
// group it has clients in, a set of those clients under a key of its own that expires unless renewed.
// A process that dies (SIGKILL, a machine lost) stops renewing, so Redis itself drops its clients
// within `ttl`; no other process has to notice. Queries take the union of the live processes' sets.
//
//   <p>gw:pu:<user>:<node>    SET of client ids bound to user on node            PEXPIRE ttl
//   <p>gw:pg:<group>:<node>   SET of "client \u{1} user" in group on node           PEXPIRE ttl
//   <p>gw:pc:<node>           SET of all client ids on node                        PEXPIRE ttl
//   <p>gw:iu:<user>, <p>gw:ig:<group>, <p>gw:in   SET of nodes that wrote such a key  PEXPIRE ttl
//
// The index sets say which per-node keys to look at; the query script skips (and removes) nodes whose
// key has expired, so a dead process is gone from answers at once when its keys are, and from the
// index when nobody renews it either.

/// A process's presence in Redis: rewrites its keys when its clients change (batched) and on every
/// renewal, and answers queries with a union over the live processes.
final class GatewayRedisPresence {
    let redis: RedisClient
    let node: String
    let prefix: String
    /// Milliseconds a process's keys live without renewal.
    let ttl: Int
    /// The keys written last time, to delete the ones that no longer have members.
    private var written: Set<String> = []

    /// Union of the live nodes' sets listed in KEYS[1]'s index; ARGV[1] is the per-node key before the node.
    /// Why a script: one round trip, and the index is cleaned of dead nodes as a side effect.
    static let union = """
        local nodes = redis.call('SMEMBERS', KEYS[1])
        local keys = {}
        for _, node in ipairs(nodes) do
            local key = ARGV[1] .. node
            if redis.call('EXISTS', key) == 1 then keys[#keys + 1] = key else redis.call('SREM', KEYS[1], node) end
        end
        if #keys == 0 then return {} end
        return redis.call('SUNION', unpack(keys))
        """

    init(loop: EventLoop, address: String, prefix: String, node: String, ttl: Double) throws(RedisError) {
        var configuration = RedisConfiguration()
        configuration.reconnectDelay = 0.2
        configuration.maxReconnectDelay = 2
        redis = try RedisClient(loop: loop, address: address, configuration: configuration)
        self.node = node
        self.prefix = prefix + "gw:"
        self.ttl = max(1, Int((ttl * 1000).rounded()))
        redis.connect()
    }

    /// Rewrites this node's keys from `clients` in one transaction (readers never see a half-written
    /// set), renewing their expiry, and deletes those it no longer needs.
    func write(_ clients: [GatewayClientEntry]) {
        var users: [String: [String]] = [:]
        var groups: [String: [String]] = [:]
        for entry in clients {
            if let user = entry.user { users[user, default: []].append(entry.client) }
            for group in entry.groups { groups[group, default: []].append(entry.client + "\u{1}" + (entry.user ?? "")) }
        }
        var commands: [RedisCommand] = []
        var keys: Set<String> = []
        func put(_ key: String, _ members: [String], index: String) {
            keys.insert(key)
            commands.append(RedisCommand("DEL", RedisArgument(key)))
            commands.append(RedisCommand("SADD", arguments: [RedisArgument(key)] + members.map { RedisArgument($0) }))
            commands.append(RedisCommand("PEXPIRE", RedisArgument(key), RedisArgument(ttl)))
            commands.append(RedisCommand("SADD", RedisArgument(index), RedisArgument(node)))
            commands.append(RedisCommand("PEXPIRE", RedisArgument(index), RedisArgument(ttl)))
        }
        for (user, ids) in users { put(userKey(user) + node, ids, index: prefix + "iu:" + user) }
        for (group, members) in groups { put(groupKey(group) + node, members, index: prefix + "ig:" + group) }
        if !clients.isEmpty { put(prefix + "pc:" + node, clients.map(\.client), index: prefix + "in") }
        for gone in written.subtracting(keys) { commands.append(RedisCommand("DEL", RedisArgument(gone))) }
        written = keys
        guard !commands.isEmpty else { return }
        redis.transaction(commands) { _ in }
    }

    /// Deletes this node's keys (a clean stop: its clients vanish at once).
    func remove() {
        let keys = written
        written = []
        guard !keys.isEmpty else { return }
        redis.send(RedisCommand("DEL", arguments: keys.map { RedisArgument($0) })) { _ in }
    }

    private func userKey(_ user: String) -> String { prefix + "pu:" + user + ":" }
    private func groupKey(_ group: String) -> String { prefix + "pg:" + group + ":" }

    /// The members of the live nodes' sets for a user, a group or everyone.
    private func members(index: String, keyPrefix: String, _ done: @escaping (Result<[String], RedisError>) -> Void) {
        redis.eval(Self.union, keys: [index], arguments: [keyPrefix]) { result in
            done(result.flatMap { reply in Result { () throws(RedisError) -> [String] in try [String](fromRESP: reply) } })
        }
    }

    func clients(ofUser user: String, _ done: @escaping (Result<[String], RedisError>) -> Void) {
        members(index: prefix + "iu:" + user, keyPrefix: userKey(user)) { done($0.map { $0.sorted() }) }
    }

    func groupMembers(_ group: String, _ done: @escaping (Result<[(client: String, user: String?)], RedisError>) -> Void) {
        members(index: prefix + "ig:" + group, keyPrefix: groupKey(group)) { result in
            done(result.map { members in
                members.map { member in
                    let parts = member.split(separator: "\u{1}", maxSplits: 1, omittingEmptySubsequences: false)
                    let user = parts.count == 2 && !parts[1].isEmpty ? String(parts[1]) : nil
                    return (String(parts[0]), user)
                }
            })
        }
    }

    func allClients(_ done: @escaping (Result<[String], RedisError>) -> Void) {
        members(index: prefix + "in", keyPrefix: prefix + "pc:", done)
    }
}
