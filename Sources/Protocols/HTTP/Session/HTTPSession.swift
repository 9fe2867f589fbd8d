import WorkermanTransport

#if canImport(Glibc)
import Glibc
#endif

/// Sessions as Workerman offers them: a `PHPSID` cookie naming a session kept in a `SessionStore`
/// (files by default), 1440 s lifetime, `HttpOnly`, path `/`.
///
/// ```swift
/// let sessions = try HTTPSessions(store: FileSessionStore(directory: "/tmp/sessions"))
/// web.onMessage = { connection, request in
///     let session = sessions.session(for: request)
///     session["visits"] = String((Int(session["visits"] ?? "0") ?? 0) + 1)
///     connection.send(.response(HTTPResponse(body: "visit \(session["visits"]!)").withSession(session)))
/// }   // the session is saved when the last reference to it goes, at the end of the request
/// ```
public final class HTTPSessions {
    public let store: any SessionStore
    /// Workerman's `Session::$name`.
    public var cookieName = "PHPSID"
    /// Seconds a session lives without use (Workerman's 1440).
    public var lifetime = 1440
    public var cookiePath = "/"
    public var cookieDomain: String?
    public var secure = false
    public var httpOnly = true
    public var sameSite: SetCookie.SameSite?
    /// One request in this many collects expired sessions (Workerman: 1 in 1000).
    public var collectionDivisor = 1000

    public init(store: any SessionStore) {
        self.store = store
    }

    /// The request's session: the one its cookie names if it exists, else a new one.
    public func session(for request: HTTPRequest) -> HTTPSession {
        if Int.random(in: 0..<max(1, collectionDivisor)) == 0 { store.collectGarbage(maxLifetime: lifetime) }
        if let id = request.cookie(cookieName), let data = store.read(id) {
            return HTTPSession(id: id, data: data, isNew: false, owner: self)
        }
        return HTTPSession(id: Self.newID(), data: [:], isNew: true, owner: self)
    }

    /// Workerman's id: hex of the time and 8 random bytes.
    static func newID() -> String {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        var id = String(UInt64(spec.tv_sec) &* 1_000_000 &+ UInt64(spec.tv_nsec / 1000), radix: 16)
        var random = SystemRandomNumberGenerator()
        for _ in 0..<8 { id += String(format2Hex: UInt8.random(in: 0...255, using: &random)) }
        return id
    }

    func cookie(for session: HTTPSession) -> SetCookie {
        SetCookie(
            name: cookieName,
            value: session.id,
            maxAge: session.isDestroyed ? 0 : lifetime,
            path: cookiePath,
            domain: cookieDomain,
            secure: secure,
            httpOnly: httpOnly,
            sameSite: sameSite
        )
    }
}

/// One session's data (Workerman's `Session`: get, set, delete, pull, put, forget, all, flush, has,
/// exists). Saved to the store when changed, as the last reference to it goes.
public final class HTTPSession {
    public private(set) var id: String
    public let isNew: Bool
    private var data: [String: String]
    private var changed = false
    private(set) var isDestroyed = false
    private let owner: HTTPSessions

    init(id: String, data: [String: String], isNew: Bool, owner: HTTPSessions) {
        self.id = id
        self.data = data
        self.isNew = isNew
        self.owner = owner
    }

    deinit { save() }

    public subscript(key: String) -> String? {
        get { data[key] }
        set {
            data[key] = newValue
            changed = true
        }
    }

    public func get(_ key: String, default fallback: String? = nil) -> String? { data[key] ?? fallback }
    public func set(_ key: String, _ value: String) { self[key] = value }
    public func put(_ values: [String: String]) {
        data.merge(values) { $1 }
        changed = true
    }
    public func delete(_ key: String) { self[key] = nil }
    public func forget(_ keys: [String]) { for key in keys { self[key] = nil } }
    /// Takes a value out (Workerman's `pull`).
    public func pull(_ key: String) -> String? {
        defer { self[key] = nil }
        return data[key]
    }
    public var all: [String: String] { data }
    public func flush() {
        data = [:]
        changed = true
    }
    /// Whether `key` is set to a value.
    public func has(_ key: String) -> Bool { data[key] != nil }
    public func exists(_ key: String) -> Bool { data.keys.contains(key) }

    /// Deletes the session from the store; the response's cookie then expires it in the browser.
    public func destroy() {
        owner.store.destroy(id)
        data = [:]
        changed = false
        isDestroyed = true
    }

    /// Writes the session now if it changed (it is also written when the last reference goes).
    public func save() {
        guard changed, !isDestroyed else { return }
        owner.store.write(id, data)
        changed = false
    }

    /// The cookie that names this session, for the response.
    public var cookie: SetCookie { owner.cookie(for: self) }
}

extension HTTPResponse {
    /// This response with the session's cookie, when the browser needs it: a new session, or a
    /// destroyed one (an expiring cookie).
    public func withSession(_ session: HTTPSession) -> HTTPResponse {
        guard session.isNew || session.isDestroyed else { return self }
        var response = self
        response.setCookie(session.cookie)
        return response
    }
}

extension String {
    fileprivate init(format2Hex byte: UInt8) {
        let digits = Array("0123456789abcdef".utf8)
        self = String(decoding: [digits[Int(byte >> 4)], digits[Int(byte & 15)]], as: UTF8.self)
    }
}
