import WorkermanEventLoop
import WorkermanProcess
import WorkermanProtocols
import WorkermanTestSupport
import WorkermanTransport
import XCTest

@testable import WorkermanTLS

/// Session ticket keys rotate gracefully: with the server's ticket clock turned past a rotation, a
/// ticket from the period before still resumes (and the client gets a new ticket under the new key);
/// one period later the old ticket no longer opens, and the renewed one still does. The client is
/// `openssl s_client`, keeping each session in a file.
final class TLSTicketRotationTests: XCTestCase {
    private var certificates: TestCertificates!
    private var harness: LoopHarness!

    override func setUpWithError() throws {
        certificates = try TestCertificates.require()
        harness = try LoopHarness()
    }

    override func tearDown() {
        if let harness { XCTAssertEqual(harness.finishClosingConnections(), []) }
        harness = nil
    }

    func testTicketFromThePreviousPeriodResumesAndIsRenewed() throws {
        MasterSecret.makeForMaster()  // the secret every child of one master derives its keys from
        let rotation = 3600
        var now = 1_800_000_000 / rotation * rotation + 10  // 10 s into a period
        let configuration = try TLSServerConfiguration(
            certificateChain: certificates.serverCertificate,
            privateKey: certificates.serverKey,
            ticketKeyRotation: rotation
        )
        configuration.ticketClock = { now }
        let worker = try Worker(http: "127.0.0.1:0", tls: configuration)
        worker.onMessage = { connection, _ in
            connection.send(.response(HTTPResponse(body: connection.tls?.isSessionReused == true ? "session=resumed" : "session=full")))
        }
        let server = try worker.serve(on: harness.loop, address: "http://127.0.0.1:0")
        harness.onTeardown { server.closeAll() }
        let port = server.listener!.address.port
        let prefix = certificates.directory + "/rotation-\(UInt32.random(in: 0...UInt32.max))"

        /// One request with `openssl s_client`, resuming from session file `input` (if any) and keeping
        /// the session it ends with in `output` (if any); what the server answered.
        func request(resuming input: String?, keeping output: String?) throws -> String {
            var flags = ""
            if let input { flags += " -sess_in \(prefix)-\(input)" }
            if let output { flags += " -sess_out \(prefix)-\(output)" }
            let request = "printf 'GET / HTTP/1.1\\r\\nHost: localhost\\r\\nConnection: close\\r\\n\\r\\n'"
            let client = "openssl s_client -tls1_3 -connect 127.0.0.1:\(port) -servername localhost -CAfile \(certificates.caCertificate) -ign_eof\(flags)"
            let run = try harness.runChild(["sh", "-c", "\(request) | \(client)"], in: certificates.directory)
            if run.output.contains("session=resumed") { return "resumed" }
            return run.output.contains("session=full") ? "full" : "no answer: \(run.output)"
        }

        XCTAssertEqual(try request(resuming: nil, keeping: "first"), "full")
        XCTAssertEqual(try request(resuming: "first", keeping: nil), "resumed", "same period")

        now += rotation - 5  // 5 s past the rotation: the first ticket's key is the previous one now
        XCTAssertEqual(try request(resuming: "first", keeping: "renewed"), "resumed", "a ticket from just before the rotation")

        now += rotation  // one more period: the first key is gone, the renewed ticket's key is the previous
        XCTAssertEqual(try request(resuming: "first", keeping: nil), "full", "two periods old")
        XCTAssertEqual(try request(resuming: "renewed", keeping: nil), "resumed", "renewed under the key of the period before")
        XCTAssertEqual(harness.transport.statistics.handshakeFailures, 0)
    }
}
