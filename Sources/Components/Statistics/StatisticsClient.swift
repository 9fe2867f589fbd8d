import WorkermanEventLoop
import WorkermanTransport

/// Reports calls to a statistics collector over UDP (walkor's StatisticClient, same datagrams): one
/// datagram per report, sent at once on a non-blocking socket, so reporting never waits. A datagram the
/// socket cannot take right now is dropped and counted in `dropped`, never queued.
///
/// ```swift
/// let statistics = try StatisticsClient(loop: worker.loop!, collector: "127.0.0.1:55656")
/// let started = MonotonicClock.now()
/// …
/// statistics.report(module: "User", interface: "getInfo", since: started, success: true)
/// ```
public final class StatisticsClient {
    private let client: UDPClient<RawCodec>
    public private(set) var sent = 0
    public private(set) var dropped = 0

    /// - Throws: `TransportError.invalidAddress` unless `collector` is a numeric `host:port`.
    public init(loop: EventLoop, collector: String) throws(TransportError) {
        client = try UDPClient<RawCodec>(loop: loop, url: "udp://" + collector)
    }

    public func report(_ report: StatisticsReport) {
        if client.send(ByteBuffer(report.datagram)) { sent += 1 } else { dropped += 1 }
    }

    public func report(module: String, interface: String, cost: Double, success: Bool, code: Int32 = 0, message: String = "") {
        report(StatisticsReport(module: module, interface: interface, cost: cost, success: success, code: code, message: message))
    }

    /// Reports a call that began at `since` (`MonotonicClock.now()`) and ends now.
    public func report(module: String, interface: String, since: UInt64, success: Bool, code: Int32 = 0, message: String = "") {
        let cost = Double(MonotonicClock.now() &- since) / 1e9
        report(module: module, interface: interface, cost: cost, success: success, code: code, message: message)
    }

    public func close() { client.close() }
}
