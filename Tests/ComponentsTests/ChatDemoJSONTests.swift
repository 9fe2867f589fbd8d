// The demo chat's JSON path (`?format=json`), which the page reads: what a newcomer gets, in order, and
// text that needs escaping arriving intact.

import Foundation
import Testing
import WorkermanEventLoop

@Suite("The demo chat's JSON for the page", .serialized)
struct ChatDemoJSONTests {
    private func objects(_ peer: ChatPeer) -> [[String: Any]] {
        peer.lines.compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
    }

    @Test("welcome, history, users, then the own join; messages with quotes, markup and newlines intact", .timeLimit(.minutes(2)))
    func newcomer() throws {
        let demo = try ChatDemo(chatCount: 2)
        defer { demo.stop() }
        let testLoop = try TestLoop()
        let tricky = "say \"hi\" <b>bold</b> \\ back\nslash \u{1}"
        let first = try ChatPeer(testLoop.loop, port: demo.chatPort, name: "amy", room: "j")
        try testLoop.run(until: "amy's join") { first.hasJoined }
        first.send(tricky)
        try testLoop.run(until: "amy's message back") { first.messages.contains { $0.text.hasPrefix("say") } }

        let page = try ChatPeer(testLoop.loop, port: demo.chatPort, name: "bo%20b", room: "J%21", json: true)  // "bo b", "J!"
        try testLoop.run(until: "the page's own join") {
            objects(page).contains { $0["type"] as? String == "joined" && $0["from"] as? String == "bo b" }
        }
        let received = objects(page)
        #expect(received.count == page.lines.count, "every line is a JSON object: \(page.lines)")
        #expect(received.map { $0["type"] as? String ?? "?" }.prefix(4) == ["welcome", "history", "users", "joined"])
        #expect(received.first?["room"] as? String == "j", "the room name is cleaned up: J! is j")
        let history = received.first { $0["type"] as? String == "history" }?["messages"] as? [[String: Any]] ?? []
        #expect(history.map { $0["text"] as? String } == [tricky])
        #expect(history.first?["from"] as? String == "amy")
        let users = received.first { $0["type"] as? String == "users" }?["users"] as? [String]
        #expect(users == ["amy", "bo b"])

        // Live, both ways; the plain client reads the page's message as a line containing it.
        page.send("from the page")
        try testLoop.run(until: "the page's message at both") {
            first.messages.contains { $0.text == "from the page" }
                && objects(page).contains { $0["type"] as? String == "message" && $0["text"] as? String == "from the page" }
        }
    }
}
