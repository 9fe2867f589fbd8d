import Testing
import WorkermanHTTPClient
import WorkermanRedis
import WorkermanTestSupport
import WorkermanTransport

/// Replays the client parsers' fuzz corpora (Fuzz/corpus/resp, dns, httpresponse) with the fuzz targets'
/// settings and checks, so a finding, once added to a corpus, stays fixed.
@Suite("Fuzz corpus replay: RESP, DNS and HTTP responses")
struct ClientsFuzzCorpusTests {
    static let corpus: String = {
        // This file is <root>/Tests/ClientsTests/<name>.swift.
        #filePath.split(separator: "/", omittingEmptySubsequences: false).dropLast(3).joined(separator: "/") + "/Fuzz/corpus"
    }()

    static func inputs(_ target: String) -> [(String, [UInt8])] {
        TestFiles.names(in: "\(corpus)/\(target)").sorted().compactMap { name in
            TestFiles.readBytes("\(corpus)/\(target)/\(name)").map { (name, $0) }
        }
    }

    @Test("RESP: every split agrees and every reply reads through the typed decoders")
    func resp() throws {
        let inputs = Self.inputs("resp")
        #expect(inputs.count >= 5)
        for (name, input) in inputs where !input.isEmpty {
            let verifier = CodecVerifier<RESPCodec>(maxPackageSize: input[0] & 1 == 0 ? 1 << 16 : 16)
            let run = try verifier.verify(Array(input.dropFirst()), splits: [.byteByByte, .random(seed: UInt64(input[0]), maxChunk: 7)])
            for reply in run.messages {
                _ = try? [String: String](fromRESP: reply)
                _ = try? [String?](fromRESP: reply)
                _ = try? Int(fromRESP: reply)
            }
            _ = name
        }
    }

    @Test("DNS: parsing ends, and what parses keeps the parser's promises")
    func dns() {
        let inputs = Self.inputs("dns")
        #expect(inputs.count >= 5)
        for (name, input) in inputs {
            guard let message = try? DNSMessage.parse(input) else { continue }
            #expect(([message.questionName ?? ""] + message.answers.map(\.name)).allSatisfy { $0.utf8.count <= 255 }, "\(name)")
            for record in message.answers {
                if case .address(let text) = record.payload { #expect((try? SocketAddress(ip: text, port: 0)) != nil, "\(name)") }
            }
        }
    }

    @Test("HTTP responses: whole and byte by byte agree")
    func httpResponses() {
        let inputs = Self.inputs("httpresponse")
        #expect(inputs.count >= 5)
        for (name, input) in inputs where !input.isEmpty {
            let whole = HTTPParserReplay.run(Array(input.dropFirst()), settings: input[0], chunk: max(1, input.count))
            let dripped = HTTPParserReplay.run(Array(input.dropFirst()), settings: input[0], chunk: 1)
            if whole.error == nil && dripped.error == nil {
                #expect(whole == dripped, "\(name)")
            } else {
                #expect((whole.error == nil) == (dripped.error == nil) || whole.error?.code == .tooLarge || dripped.error?.code == .tooLarge, "\(name)")
            }
        }
    }
}

