// What the chat accepts from a client: names and rooms it can show, messages up to a size, and a rate.
// Everything refused is answered with an error the client can show and counted in the process's
// packet_err, which `demo status` lists per process.
import Workerman

/// The chat's limits, from the environment (see main.swift).
struct ChatLimits {
    /// Bytes of UTF-8 in one chat message. Bigger ones are refused with an error; the connection stays.
    /// (Frames over the worker's `maxPackageSize` are closed by the codec with 1009 before this.)
    var maxMessageBytes = 2000
    /// Messages a client may send in a burst, and per second after it (a token bucket).
    var burst = 20
    var perSecond = 10.0
    /// Messages of one room kept for those who join.
    var historySize = 20
    /// `/stuck N` makes the handler spin N seconds (DEMO_STUCK=1; for showing a stuck process).
    var allowStuck = false
}

/// A token bucket per connection: `burst` tokens, refilled at `perSecond`; a message takes one.
/// A bucket rather than a fixed window, so a client that types fast for a moment is never refused
/// while a script that floods is held to the rate however it times its bursts.
struct RateLimiter {
    private let burst: Double
    private let perSecond: Double
    private var tokens: Double
    private var updated: Double
    /// Messages refused since the client was last told: it is told once a second at most, so a flood
    /// does not turn into a flood of errors back.
    private(set) var refusedSinceNotice = 0
    private var lastNotice = -Double.infinity

    init(burst: Int, perSecond: Double, now: Double) {
        self.burst = Double(burst)
        self.perSecond = perSecond
        tokens = Double(burst)
        updated = now
    }

    /// Whether a message may go now.
    mutating func admit(now: Double) -> Bool {
        tokens = min(burst, tokens + (now - updated) * perSecond)
        updated = now
        guard tokens >= 1 else {
            refusedSinceNotice += 1
            return false
        }
        tokens -= 1
        return true
    }

    /// Whether to tell the client about refused messages now; resets the count when it says yes.
    mutating func shouldNotify(now: Double) -> Int? {
        guard refusedSinceNotice > 0, now - lastNotice >= 1 else { return nil }
        defer { refusedSinceNotice = 0 }
        lastNotice = now
        return refusedSinceNotice
    }
}

/// Names and rooms as the chat shows them.
enum ChatNames {
    static let defaultRoom = "lobby"

    /// A room name: letters, digits, `-` and `_`, lower-cased, at most 32; anything else is dropped, and
    /// nothing left means the lobby. Kept this narrow because it becomes part of a Channel event name and
    /// of GlobalData keys.
    static func room(_ raw: String?) -> String {
        let kept = (raw ?? "").lowercased().unicodeScalars.filter { scalar in
            scalar.isASCII && (scalar.properties.isAlphabetic || ("0"..."9").contains(scalar) || scalar == "-" || scalar == "_")
        }
        let name = String(String.UnicodeScalarView(kept.prefix(32)))
        return name.isEmpty ? defaultRoom : name
    }

    /// A display name: control characters dropped, spaces trimmed, at most 24 characters; nothing left
    /// means `fallback`.
    static func person(_ raw: String?, fallback: String) -> String {
        let kept = (raw ?? "").unicodeScalars.filter { !$0.properties.generalCategory.isControlLike }
        let trimmed = String(String.UnicodeScalarView(kept)).trimmingSpaces
        return trimmed.isEmpty ? fallback : String(trimmed.prefix(24))
    }
}

extension Unicode.GeneralCategory {
    /// Control, format (bidi overrides) and separators other than space: they would let a name break
    /// the page's layout or pose as someone else.
    fileprivate var isControlLike: Bool {
        switch self {
        case .control, .format, .lineSeparator, .paragraphSeparator, .unassigned, .surrogate, .privateUse: return true
        default: return false
        }
    }
}

extension String {
    /// Without leading and trailing white space.
    var trimmingSpaces: String {
        var scalars = Substring(self)
        while scalars.first?.isWhitespace == true { scalars.removeFirst() }
        while scalars.last?.isWhitespace == true { scalars.removeLast() }
        return String(scalars)
    }
}
