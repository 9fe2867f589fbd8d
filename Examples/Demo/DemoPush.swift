// The web worker's push endpoints: push to a user, a group or everyone connected to the chat, and ask
// who is online, through the same Gateway the chat processes use (so, with PUSH_REDIS set, across every
// demo sharing that Redis).
//
//   GET /api/push?user=NAME&text=…   GET /api/push?group=ROOM&text=…   GET /api/push?text=…  (everyone)
//   GET /api/online?user=NAME        {"user":"NAME","online":true,"clients":[…]}
//   GET /api/group?name=ROOM         {"group":"ROOM","count":2,"users":[…]}
import Workerman

/// Answers the push endpoints; nil when `request` is not one of them.
func answerPush(_ request: HTTPRequest, gateway: Gateway, _ reply: @escaping (String) -> Void) -> Bool {
    let query = request.query
    switch request.path {
    case "/api/push":
        let text = query["text"] ?? ""
        guard !text.isEmpty, text.utf8.count <= 2_000 else {
            reply(#"{"error":"text must be 1 to 2000 bytes"}"#)
            return true
        }
        if let user = query["user"] {
            gateway.send(toUser: user, text)
        } else if let group = query["group"] {
            gateway.send(toGroup: group, text)
        } else {
            gateway.sendToAll(text)
        }
        reply(#"{"sent":true}"#)
    case "/api/online":
        let user = query["user"] ?? ""
        gateway.clients(ofUser: user) { clients in
            reply(JSON.object([("user", .text(user)), ("online", .raw(clients.isEmpty ? "false" : "true")), ("clients", .list(clients))]))
        }
    case "/api/group":
        let group = query["name"] ?? ""
        gateway.count(group: group) { count in
            gateway.users(inGroup: group) { users in
                reply(JSON.object([("group", .text(group)), ("count", .number(count)), ("users", .list(users))]))
            }
        }
    default:
        return false
    }
    return true
}
