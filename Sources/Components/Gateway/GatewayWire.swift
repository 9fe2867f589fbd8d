// What the gateway's processes say to each other over Channel events (PHP-serialized arrays, so a
// Redis-backed channel carries them as it carries any Channel data).
//
//   gw:all            ["m": text, "x": [excluded client ids]]
//   gw:u:<user>       the same, for the clients bound to the user
//   gw:g:<group>      the same, for the clients in the group
//   gw:n:<node>       ["op": "send"|"bind"|"unbind"|"join"|"leave"|"close", "id": connection id, "m"/"u"/"g": …]
//   gw:presence       ["node": node, "ttl": seconds, "c": [[client, user or "", [groups]], …], "bye": 0|1]

enum GatewayWire {
    static let all = "gw:all"
    static let presence = "gw:presence"
    static func user(_ user: String) -> String { "gw:u:" + user }
    static func group(_ group: String) -> String { "gw:g:" + group }
    static func node(_ node: String) -> String { "gw:n:" + node }

    static func message(_ text: String, excluding: [String]) -> PHPValue {
        var array = PHPArray()
        array["m"] = PHPValue(text)
        if !excluding.isEmpty { array["x"] = .array(PHPArray(list: excluding.map { PHPValue($0) })) }
        return .array(array)
    }

    /// The text and excluded clients of a `message`, or nil for anything else (a forged or foreign event).
    static func parseMessage(_ value: PHPValue) -> (text: String, excluding: Set<String>)? {
        guard let text = value["m"]?.stringValue else { return nil }
        let excluded = value["x"]?.arrayValue?.entries.compactMap(\.value.stringValue) ?? []
        return (text, Set(excluded))
    }

    static func command(_ op: String, connection: Int, _ fields: [(PHPKey, String)] = []) -> PHPValue {
        var array = PHPArray()
        array["op"] = PHPValue(op)
        array["id"] = .int(connection)
        for (key, value) in fields { array[key] = PHPValue(value) }
        return .array(array)
    }

    static func presence(node: String, ttl: Double, clients: [GatewayClientEntry], bye: Bool = false) -> PHPValue {
        var array = PHPArray()
        array["node"] = PHPValue(node)
        array["ttl"] = .double(ttl)
        array["bye"] = .int(bye ? 1 : 0)
        array["c"] = .array(PHPArray(list: clients.map { entry in
            .array(PHPArray(list: [
                PHPValue(entry.client), PHPValue(entry.user ?? ""),
                .array(PHPArray(list: entry.groups.sorted().map { PHPValue($0) })),
            ]))
        }))
        return .array(array)
    }

    static func parsePresence(_ value: PHPValue) -> (node: String, ttl: Double, clients: [GatewayClientEntry], bye: Bool)? {
        guard let node = value["node"]?.stringValue, let ttl = value["ttl"]?.doubleValue, ttl > 0,
            let list = value["c"]?.arrayValue
        else { return nil }
        var clients: [GatewayClientEntry] = []
        for entry in list.entries {
            guard let fields = entry.value.arrayValue?.entries.map(\.value), fields.count == 3,
                let client = fields[0].stringValue, let user = fields[1].stringValue, let groups = fields[2].arrayValue
            else { return nil }
            clients.append(GatewayClientEntry(
                client: client,
                user: user.isEmpty ? nil : user,
                groups: Set(groups.entries.compactMap(\.value.stringValue))
            ))
        }
        return (node, min(ttl, 3600), clients, value["bye"]?.intValue == 1)
    }
}
