import Foundation
import WorkermanTLS
import WorkermanTestSupport
import XCTest

/// Replays Fuzz/corpus/tls (the TLS fuzz target's seeds and any finding added after a fix) through the
/// same case the fuzzer runs.
final class TLSFuzzCorpusTests: XCTestCase {
    func testCorpusReplays() throws {
        let certificates = try TestCertificates.require()
        let configuration = try TLSServerConfiguration(certificateChain: certificates.serverCertificate, privateKey: certificates.serverKey)
        let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fuzz/corpus/tls").path
        let names = TestFiles.names(in: folder)
        XCTAssertFalse(names.isEmpty, "no corpus in \(folder)")
        for name in names {
            guard let input = TestFiles.readBytes(folder + "/" + name), let chunk = input.first else { continue }
            let wire = ScriptedStream()
            TLSFuzzCase.run(chunk: Int(chunk), bytes: Array(input.dropFirst()), configuration: configuration, over: wire) { piece in
                if let piece { wire.queueRead(piece) } else { wire.queueEndOfStream() }
            }
            XCTAssertTrue(wire.isClosed, name)
        }
    }
}
