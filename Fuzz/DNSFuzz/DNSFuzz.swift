// libFuzzer entry for the DNS message parser (Fuzz/run.sh dns). Not part of the package build. The input
// is one datagram from a "server": parsing must end (no compression loop hangs it), never trap, and
// whatever it returns must keep the parser's promises (names within 255 bytes, addresses well formed).
import WorkermanTransport

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzDNS(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    guard let message = try? DNSMessage.parse(bytes) else { return 0 }
    for name in [message.questionName ?? ""] + message.answers.map(\.name) {
        precondition(name.utf8.count <= 255, "name over 255 bytes")
    }
    for record in message.answers {
        switch record.payload {
        case .address(let text):
            precondition((try? SocketAddress(ip: text, port: 0)) != nil, "address \(text) does not parse")
        case .canonicalName(let target):
            precondition(target.utf8.count <= 255, "CNAME over 255 bytes")
        case .other:
            break
        }
    }
    // The encoder takes back any question name the parser gives (ASCII labels of 1-63 bytes, at most 255
    // on the wire) and writes it so that it parses to the same name.
    if let name = message.questionName, !name.isEmpty, let type = message.questionType {
        let query = try? DNSMessage.query(id: 7, name: name, type: type)
        precondition(query.flatMap { try? DNSMessage.parse($0) }?.questionName == name, "the query for \(name) does not round-trip")
    }
    return 0
}
