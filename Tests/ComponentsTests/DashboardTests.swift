// The dashboard's parts without processes: its JSON writer, the requests-per-second history, and its
// routes (a page, JSON, and nothing else).

import Testing
import WorkermanEventLoop
@testable import WorkermanProcess
import WorkermanProtocols
import WorkermanTransport

@testable import WorkermanComponents

private func process(_ pid: Int32, requests: Int) -> StatusSnapshot.Process {
    var statistics = TransportStatistics()
    statistics.totalRequest = requests
    return StatusSnapshot.Process(
        pid: pid, workerName: "web", workerID: 0, listening: "http://x", startedAt: 0, state: "[idle]", busy: nil,
        memoryMegabytes: 1, statistics: statistics, timers: 0
    )
}

@Suite("Dashboard parts")
struct DashboardTests {
    @Test("JSON: strings escaped, numbers, nested values")
    func json() {
        let value = DashboardJSON.object([
            ("a", .string("q\"b\\n\n\u{1}<")), ("n", .int(-3)), ("d", .double(1.23456)), ("x", .double(.nan)),
            ("l", .array([.bool(true), .null])),
        ])
        #expect(value.text == #"{"a":"q\"b\\n\n\u0001<","n":-3,"d":1.235,"x":null,"l":[true,null]}"#)
    }

    @Test("history: requests per second from successive samples; a gone process ends its line; bounded")
    func history() {
        var history = DashboardHistory(capacity: 3)
        func snapshot(_ processes: [StatusSnapshot.Process], at seconds: UInt64) -> StatusSnapshot {
            StatusSnapshot(masterPID: 1, startedAt: 0, processes: processes, exits: [], readAt: seconds * 1_000_000_000)
        }
        history.sample(snapshot([process(10, requests: 0)], at: 1), unixTime: 100)
        history.sample(snapshot([process(10, requests: 50), process(11, requests: 7)], at: 2), unixTime: 101)
        history.sample(snapshot([process(11, requests: 27)], at: 3), unixTime: 102)
        history.sample(snapshot([process(11, requests: 37)], at: 4), unixTime: 103)
        #expect(history.times == [101, 102, 103])
        #expect(history.json.text == #"{"times":[101,102,103],"series":[{"pid":10,"worker":"web","rates":[50.0,null,null]},{"pid":11,"worker":"web","rates":[null,20.0,10.0]}]}"#)
    }

    @Test("routes: the page, its JSON, and nothing else")
    func routes() throws {
        let testLoop = try TestLoop()
        let dashboard = Dashboard(loop: testLoop.loop, path: "/ops/")
        #expect(dashboard.path == "/ops")
        let page = dashboard.response(to: "/ops")
        #expect(page?.headers["Content-Type"] == "text/html; charset=utf-8")
        #expect(dashboard.response(to: "/ops/api/status") != nil)
        #expect(dashboard.response(to: "/ops/api/history") != nil)
        #expect(dashboard.response(to: "/ops/api/statistics") != nil)
        #expect(dashboard.response(to: "/opsx") == nil && dashboard.response(to: "/ops/api/other") == nil && dashboard.response(to: "/") == nil)
    }
}
