// libFuzzer entry for what the push and statistics components read from the network (Fuzz/run.sh
// pushstats). Not part of the package build. The first byte picks the reader: bit 0 clear, a
// statistics datagram (a report it accepts must come back the same from its own datagram); bit 0 set,
// a Gateway event as PHP-serialized Channel data (message, presence and command readers: no crash,
// and what they accept is within the wire's limits).
@testable import WorkermanComponents

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzPushStatistics(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size > 0 else { return 0 }
    let input = UnsafeRawBufferPointer(start: data + 1, count: size - 1)
    if data[0] & 1 == 0 {
        guard let report = StatisticsReport(datagram: input) else { return 0 }
        let again = report.datagram.withUnsafeBytes { StatisticsReport(datagram: $0) }
        guard again == report, report.datagram.count == input.count else {
            fatalError("a report accepted from \(input.count) bytes does not round-trip: \(report)")
        }
    } else {
        guard let value = try? PHPValue(unserializing: input) else { return 0 }
        if let message = GatewayWire.parseMessage(value), message.text.utf8.count > input.count {
            fatalError("a message longer than its datagram")
        }
        if let presence = GatewayWire.parsePresence(value) {
            guard presence.ttl > 0, presence.ttl <= 3600, presence.clients.count <= input.count else {
                fatalError("presence out of bounds: ttl \(presence.ttl), \(presence.clients.count) clients")
            }
        }
    }
    return 0
}
