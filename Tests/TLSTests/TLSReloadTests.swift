import WorkermanEventLoop
import WorkermanTLS
import WorkermanTestSupport
import XCTest

#if canImport(Glibc)
import Glibc
#endif

/// The example program (Examples/HTTPSAndWSS) in Workerman's form as a real master with two children:
/// after its certificate files are replaced, `reload` serves the new certificate (each new child reads
/// the files as it starts), and requests keep being answered.
final class TLSReloadTests: XCTestCase {
    func testReloadServesTheRenewedCertificate() throws {
        let certificates = try TestCertificates.require()
        let program = Self.builtProgram("https-wss")
        guard access(program, X_OK) == 0 else { throw XCTSkip("the https-wss example is not built next to the tests") }
        let directory = try TestFiles.makeTemporaryDirectory("workerman-tls-reload")
        defer { TestFiles.removeTree(directory) }
        let certificate = directory + "/cert.pem", key = directory + "/key.pem"
        try TestFiles.write(TestFiles.readBytes(certificates.serverCertificate) ?? [], to: certificate)
        try TestFiles.write(TestFiles.readBytes(certificates.serverKey) ?? [], to: key)
        let port = try FreePort.tcp()
        let environment = ["PORT": String(port), "TLS_CERT": certificate, "TLS_KEY": key, "WORKERMAN_FORM": "1"]
        let master = try ChildProcess.spawn(program, ["start"], environment: environment, output: .file(directory + "/master.log", append: false))
        defer {
            if let stop = try? ChildProcess.spawn(program, ["stop"], environment: environment) { _ = ChildProcess.waitForExit(stop, seconds: 10) }
            ChildProcess.killAndReap(master)
        }
        func subject() -> String {
            let out = directory + "/s_client.out"
            guard let pid = try? ChildProcess.spawn(
                "openssl", ["s_client", "-connect", "127.0.0.1:\(port)", "-servername", "localhost"],
                output: .file(out, append: false), searchPath: true
            ) else { return "" }
            _ = ChildProcess.waitForExit(pid, seconds: 10)
            return (TestFiles.readText(out) ?? "").split(separator: "\n").first { $0.hasPrefix("subject=") }.map(String.init) ?? ""
        }
        XCTAssertTrue(WaitUntil.holds(within: 20, checkingEvery: .milliseconds(200)) { subject() == "subject=CN = localhost" }, TestFiles.readText(directory + "/master.log") ?? "")

        try TestFiles.write(TestFiles.readBytes(certificates.otherNameCertificate) ?? [], to: certificate)
        try TestFiles.write(TestFiles.readBytes(certificates.otherNameKey) ?? [], to: key)
        let reload = try ChildProcess.spawn(program, ["reload"], environment: environment)
        XCTAssertEqual(ChildProcess.waitForExit(reload, seconds: 10), 0)
        XCTAssertTrue(WaitUntil.holds(within: 20, checkingEvery: .milliseconds(200)) { subject() == "subject=CN = other.test" }, TestFiles.readText(directory + "/master.log") ?? "")

        // Still answering, now with the new certificate.
        let out = directory + "/curl.out"
        let curl = try ChildProcess.spawn(
            "curl", ["-sS", "--max-time", "10", "--cacert", certificates.caCertificate, "--resolve", "other.test:\(port):127.0.0.1", "https://other.test:\(port)/"],
            output: .file(out, append: false), searchPath: true
        )
        XCTAssertEqual(ChildProcess.waitForExit(curl, seconds: 15), 0, TestFiles.readText(out) ?? "")
        XCTAssertTrue(TestFiles.readText(out)?.contains("wss://") ?? false)
    }

    /// An executable of this package, found next to the test bundle.
    private static func builtProgram(_ name: String) -> String {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let length = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        var directory = length > 0 ? String(decoding: buffer[0..<length].map { UInt8(bitPattern: $0) }, as: UTF8.self) : CommandLine.arguments[0]
        for _ in 0..<4 {
            guard let slash = directory.lastIndex(of: "/") else { break }
            directory = String(directory[..<slash])
            if access("\(directory)/\(name)", X_OK) == 0 { return "\(directory)/\(name)" }
        }
        return name
    }
}
