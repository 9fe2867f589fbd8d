// What the chat processes share besides live messages: each room's last messages and who is in which
// room, in the program's GlobalData server.
//
// Why GlobalData and not the Channel server for history: the history must outlive any one chat process
// (one killed, or reloaded, takes nothing with it) and be readable by a process that just started,
// without asking its peers; the GlobalData server is one more process of the program whose memory is
// exactly that, with atomic `increment`. Channel carries what happens now; GlobalData keeps what
// happened.
import Workerman

/// A room's history and the chat's roster, in GlobalData. Every call answers on the loop, and a failure
/// (the server down or slow) answers as if there were nothing: the chat goes on without history or user
/// lists rather than stalling on them.
final class ChatStore {
    private let data: GlobalDataClient
    private let historySize: Int
    private let workerID: Int
    private let workerCount: Int
    /// Whether the last call failed: the failure is logged once, not once per message.
    private var failing = false

    init(loop: EventLoop, server: String, historySize: Int, workerID: Int, workerCount: Int) throws {
        // Two seconds, not five: a join waits for the roster write before it is announced.
        data = try GlobalDataClient(loop: loop, servers: [server], timeout: 2)
        self.historySize = max(1, historySize)
        self.workerID = workerID
        self.workerCount = workerCount
    }

    // MARK: - History

    // A room's history is a ring of `historySize` slots plus a counter: a message takes the next number
    // (`increment`, atomic in the server) and writes its slot. One array per room updated with `cas`
    // would be simpler to read, but four processes appending to one busy room would retry each other's
    // swaps; the ring never conflicts, and a reader drops slots whose number is outside the last N (a
    // write still on its way leaves an older message in its slot).

    private func counterKey(_ room: String) -> String { "chat:seq:\(room)" }
    private func slotKey(_ room: String, _ number: Int) -> String { "chat:history:\(room):\(number % historySize)" }

    /// Stores `event` as the room's newest message, then calls `stored` (also when GlobalData failed:
    /// the message still goes out, without history).
    func append(_ event: ChatEvent, then stored: @escaping () -> Void) {
        let key = counterKey(event.room)
        data.increment(key) { [self] result in
            if case .success(let number?) = result, let number = number.intValue {
                return store(event, as: number, then: stored)
            }
            if case .failure(let error) = result {
                failed(error)
                return stored()
            }
            // The room's first message: the counter does not exist yet (`increment` does not create it).
            data.add(key, 0) { [self] _ in
                data.increment(key) { [self] result in
                    switch result {
                    case .success(let number?):
                        guard let number = number.intValue else { return stored() }
                        store(event, as: number, then: stored)
                    case .success(nil): stored()
                    case .failure(let error):
                        failed(error)
                        stored()
                    }
                }
            }
        }
    }

    private func store(_ event: ChatEvent, as number: Int, then stored: @escaping () -> Void) {
        data.set(slotKey(event.room, number), ["seq": .int(number), "event": event.value]) { [self] result in
            if case .failure(let error) = result { failed(error) } else { failing = false }
            stored()
        }
    }

    /// The room's last messages, oldest first.
    func history(_ room: String, _ done: @escaping ([ChatEvent]) -> Void) {
        data.get(counterKey(room)) { [self] result in
            guard case .success(let value) = result, let latest = value.intValue, latest > 0 else {
                if case .failure(let error) = result { failed(error) }
                return done([])
            }
            let first = max(1, latest - historySize + 1)
            var found: [(number: Int, event: ChatEvent)] = []
            var waiting = latest - first + 1
            for number in first...latest {
                data.get(slotKey(room, number)) { result in
                    if case .success(let slot) = result, let stored = slot["seq"]?.intValue, (first...latest).contains(stored),
                        let event = slot["event"].flatMap(ChatEvent.init)
                    {
                        found.append((stored, event))
                    }
                    waiting -= 1
                    if waiting == 0 { done(found.sorted { $0.number < $1.number }.map(\.event)) }
                }
            }
        }
    }

    // MARK: - Roster

    // Each process writes only its own key, `chat:roster:<worker id>` (room → names), whole, on every
    // change: no two processes write one key, so no locking, and a process that is killed and
    // restarted (with the same worker id) finds what it held and can announce those people as gone.

    private func rosterKey(_ worker: Int) -> String { "chat:roster:\(worker)" }

    /// Publishes this process's roster; `then` runs once the server has it (or failed to), so a join
    /// announced afterwards is already in the user list those who hear of it ask for.
    func writeRoster(_ rooms: [String: [String]], then: @escaping () -> Void) {
        data.set(rosterKey(workerID), Self.value(of: rooms)) { [self] result in
            if case .failure(let error) = result { failed(error) }
            then()
        }
    }

    /// What this worker id's previous process left in the roster (it died without saying goodbye), and
    /// replaces it with `current`.
    func takeOverRoster(current: [String: [String]], _ done: @escaping ([String: [String]]) -> Void) {
        data.get(rosterKey(workerID)) { result in
            guard case .success(let value) = result, let rooms = value.arrayValue else { return done([:]) }
            var left: [String: [String]] = [:]
            for entry in rooms { left[entry.key.stringValue] = entry.value.arrayValue?.values.compactMap(\.stringValue) ?? [] }
            done(left)
        }
        // Sent after the read on the same connection, so the read sees the old roster.
        writeRoster(current) {}
    }

    /// Everyone in `room`, in every process, sorted.
    func users(in room: String, _ done: @escaping ([String]) -> Void) {
        var names: [String] = []
        var waiting = workerCount
        for worker in 0..<workerCount {
            data.get(rosterKey(worker)) { result in
                if case .success(let value) = result, let list = value[PHPKey(room)]?.arrayValue {
                    names += list.values.compactMap(\.stringValue)
                }
                waiting -= 1
                if waiting == 0 { done(names.sorted { $0.lowercased() < $1.lowercased() }) }
            }
        }
    }

    private static func value(of rooms: [String: [String]]) -> PHPValue {
        var array = PHPArray()
        for (room, names) in rooms.sorted(by: { $0.key < $1.key }) {
            array[PHPKey(room)] = .array(PHPArray(list: names.map { PHPValue($0) }))
        }
        return .array(array)
    }

    private func failed(_ error: GlobalDataError) {
        guard !failing else { return }
        failing = true
        print("chat: GlobalData unavailable, history and user lists degrade: \(error)")
    }
}
