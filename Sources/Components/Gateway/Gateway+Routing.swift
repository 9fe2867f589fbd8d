import WorkermanEventLoop

// How a gateway carries out what it was asked: operations on a client go to the process that holds it
// (directly when that is this one), pushes arrive through the subscriptions of the users and groups this
// process has clients in, and presence goes out as this process's snapshot.
extension Gateway {
    static func now() -> Double { Double(MonotonicClock.now()) / 1e9 }

    /// Runs `op` on `client` here if this process holds it, else sends it to the process that does.
    func route(_ client: GatewayClientID, _ op: String, _ field: (PHPKey, String)? = nil) {
        guard let dash = client.lastIndex(of: "-"), let connection = Int(client[client.index(after: dash)...]) else {
            return  // not a client id: nobody to do it to
        }
        let target = String(client[..<dash])
        if target == node {
            apply(op, connection: connection, field?.1)
        } else {
            channel.publish(GatewayWire.node(target), GatewayWire.command(op, connection: connection, field.map { [$0] } ?? []))
        }
    }

    /// An operation sent to this process by another.
    func command(_ data: PHPValue) {
        guard let op = data["op"]?.stringValue, let connection = data["id"]?.intValue else { return ignored += 1 }
        apply(op, connection: connection, data["m"]?.stringValue ?? data["u"]?.stringValue ?? data["g"]?.stringValue)
    }

    private func apply(_ op: String, connection id: Int, _ argument: String?) {
        guard var local = clients[id] else { return }  // gone meanwhile
        switch (op, argument) {
        case ("send", let text?):
            delivered += 1
            local.send(text)
        case ("bind", let user?):
            if let old = local.user { drop(id, from: &users, key: old, event: GatewayWire.user(old)) }
            local.user = user
            clients[id] = local
            add(id, to: &users, key: user, event: GatewayWire.user(user))
        case ("unbind", _):
            guard let old = local.user else { return }
            local.user = nil
            clients[id] = local
            drop(id, from: &users, key: old, event: GatewayWire.user(old))
        case ("join", let group?):
            guard local.groups.insert(group).inserted else { return }
            clients[id] = local
            add(id, to: &groups, key: group, event: GatewayWire.group(group))
        case ("leave", let group?):
            guard local.groups.remove(group) != nil else { return }
            clients[id] = local
            drop(id, from: &groups, key: group, event: GatewayWire.group(group))
        case ("close", _):
            local.close()
        default:
            ignored += 1
            return
        }
        announce()
    }

    /// Adds `id` under `key`, subscribing to `event` when it is the first here.
    private func add(_ id: Int, to index: inout [String: Set<Int>], key: String, event: String) {
        if index[key, default: []].isEmpty {
            channel.on(event) { [weak self] data in
                guard let self else { return }
                let ids = (event.hasPrefix("gw:u:") ? users[key] : groups[key]) ?? []
                deliver(data, to: Array(ids))
            }
        }
        index[key, default: []].insert(id)
    }

    /// Removes `id` from under `key`, unsubscribing from `event` when it was the last here.
    func drop(_ id: Int, from index: inout [String: Set<Int>], key: String, event: String) {
        index[key]?.remove(id)
        if index[key]?.isEmpty ?? false {
            index[key] = nil
            channel.unsubscribe(event)
        }
    }

    /// A push that arrived: to each of `ids` not excluded.
    func deliver(_ data: PHPValue, to ids: [Int]) {
        guard let (text, excluded) = GatewayWire.parseMessage(data) else { return ignored += 1 }
        for id in ids {
            guard let local = clients[id], excluded.isEmpty || !excluded.contains(clientID(of: id)) else { continue }
            delivered += 1
            local.send(text)
        }
    }

    // MARK: - Presence

    /// Publishes this process's snapshot soon (changes close together go out as one).
    func announce() {
        guard !announcing else { return }
        announcing = true
        _ = try? loop.addTimer(after: configuration.announceDelay) { [weak self] in
            guard let self else { return }
            announcing = false
            publishPresence()
        }
    }

    func publishPresence() {
        if let redisPresence {
            // Sets with expiry: written (and renewed) whether empty or not; nobody needs a snapshot.
            redisPresence.write(clients.map { id, local in GatewayClientEntry(client: clientID(of: id), user: local.user, groups: local.groups) })
            return
        }
        // A process with no clients says so once; silence then means the same (its snapshot expires
        // everywhere), so idle processes (a web worker that only pushes) cost nobody a message a second.
        if clients.isEmpty {
            if announcedEmpty { return }
            announcedEmpty = true
        } else {
            announcedEmpty = false
        }
        let entries = clients.map { id, local in GatewayClientEntry(client: clientID(of: id), user: local.user, groups: local.groups) }
        channel.publish(GatewayWire.presence, GatewayWire.presence(node: node, ttl: configuration.presenceInterval * 3, clients: entries))
    }

    /// Another process's snapshot (ours come back too and are skipped: this process knows its own).
    func heard(_ data: PHPValue) {
        guard let snapshot = GatewayWire.parsePresence(data) else { return ignored += 1 }
        guard snapshot.node != node else { return }
        if snapshot.bye { return presence.remove(node: snapshot.node) }
        let known = presence.update(node: snapshot.node, clients: snapshot.clients, expires: Self.now() + snapshot.ttl)
        // A newcomer hears from everyone at once instead of waiting for their next renewal.
        if !known {
            announcedEmpty = false
            announce()
        }
    }
}
