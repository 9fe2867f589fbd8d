// What happens in a chat room, as it travels between the chat processes (over the Channel server), as
// it is kept in a room's history (in GlobalData), and as each kind of client reads it.
import Workerman

#if canImport(Glibc)
import Glibc
#endif

/// One thing that happened in a room: a message, or someone joining or leaving.
struct ChatEvent: Equatable {
    enum Kind: String {
        case message, joined, left
    }

    var kind: Kind
    var room: String
    /// Who said it, joined or left.
    var from: String
    /// The message; for `left`, why (empty: they left on purpose).
    var text: String = ""
    /// Unique across processes (`worker.pid.counter`): the page drops a message it already shows, which
    /// happens when a message arrives live while the room's history is being read.
    var id: String = ""
    /// Milliseconds since 1970, from the process that took the message.
    var time: Int = ChatEvent.now()

    static func now() -> Int {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        return spec.tv_sec * 1000 + spec.tv_nsec / 1_000_000
    }

    /// As published on the Channel server and stored in GlobalData.
    var value: PHPValue {
        [
            "kind": PHPValue(kind.rawValue), "room": PHPValue(room), "from": PHPValue(from), "text": PHPValue(text),
            "id": PHPValue(id), "time": .int(time),
        ]
    }

    /// Reads `value`; nil for anything else (a peer's bug must not reach the clients).
    init?(_ value: PHPValue) {
        guard let kind = value["kind"]?.stringValue.flatMap(Kind.init(rawValue:)),
            let room = value["room"]?.stringValue, let from = value["from"]?.stringValue
        else { return nil }
        self.init(kind: kind, room: room, from: from, text: value["text"]?.stringValue ?? "", id: value["id"]?.stringValue ?? "")
        time = value["time"]?.intValue ?? 0
    }

    init(kind: Kind, room: String, from: String, text: String = "", id: String = "") {
        self.kind = kind
        self.room = room
        self.from = from
        self.text = text
        self.id = id
    }

    /// The JSON object the page reads.
    var json: String {
        let fields: [(String, JSONField)] = [
            ("type", .text(kind.rawValue)), ("room", .text(room)), ("from", .text(from)), ("text", .text(text)),
            ("id", .text(id)), ("time", .number(time)),
        ]
        return JSON.object(fields)
    }

    /// The line a plain client (a script) reads: `[room] name: text` for a message, so it contains the
    /// text as sent.
    var plain: String {
        switch kind {
        case .message: return "[\(room)] \(from): \(text)"
        case .joined: return "* \(from) joined \(room)"
        case .left: return "* \(from) left \(room)" + (text.isEmpty ? "" : " (\(text))")
        }
    }
}

/// How a client wants its messages: the page asks for JSON with `?format=json`; anything else gets
/// one line of text per event, which is what a script or `websocat` reads most easily.
enum ChatFormat {
    case plain, json
}

/// A JSON value the chat writes.
enum JSONField {
    case text(String)
    case number(Int)
    case list([String])
    /// Already JSON (an array of events).
    case raw(String)
}

/// The little JSON the chat writes. By hand, because the server only writes JSON (never reads it) and
/// the messages go out on the fan-out path, where Foundation's encoders would cost more than the send.
enum JSON {
    static func object(_ fields: [(String, JSONField)]) -> String {
        var out = "{"
        for (index, (key, value)) in fields.enumerated() {
            if index > 0 { out += "," }
            out += quoted(key) + ":"
            switch value {
            case .text(let text): out += quoted(text)
            case .number(let number): out += String(number)
            case .list(let items): out += "[" + items.map(quoted).joined(separator: ",") + "]"
            case .raw(let json): out += json
            }
        }
        return out + "}"
    }

    /// `text` as a JSON string: quotes, backslashes and control characters escaped (RFC 8259 §7).
    static func quoted(_ text: String) -> String {
        var out = "\""
        out.reserveCapacity(text.utf8.count + 2)
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20 || scalar.value == 0x2028 || scalar.value == 0x2029:
                // U+2028/2029 are valid JSON but end a line in older JavaScript parsers.
                let hex = String(scalar.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }
}
