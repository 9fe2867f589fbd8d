import Testing
import WorkermanTLS
import WorkermanTestSupport

@testable import WorkermanMySQL

/// A private MariaDB with a certificate from a throw-away CA (made with the openssl tool), and a second
/// CA that did not sign it.
private final class TLSMariaDB: Sendable {
    let server: MariaDBServer
    let directory: String

    init() throws {
        let directory = try makeTemporaryDirectory("wm-mysql-certs")
        self.directory = directory
        do {
            let days = ["-days", "2"]
            for ca in ["ca", "other-ca"] {
                try openssl(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "\(directory)/\(ca).key", "-out", "\(directory)/\(ca).pem", "-subj", "/CN=workerman test \(ca)"] + days, in: directory)
            }
            try openssl(["req", "-newkey", "rsa:2048", "-nodes", "-keyout", "\(directory)/server.key", "-out", "\(directory)/server.csr", "-subj", "/CN=127.0.0.1"], in: directory)
            try TestFiles.write("subjectAltName=IP:127.0.0.1,DNS:localhost\n", to: "\(directory)/san.cnf")
            try openssl(
                ["x509", "-req", "-in", "\(directory)/server.csr", "-CA", "\(directory)/ca.pem", "-CAkey", "\(directory)/ca.key", "-CAcreateserial",
                 "-out", "\(directory)/server.pem", "-extfile", "\(directory)/san.cnf"] + days,
                in: directory
            )
            server = try MariaDBServer(
                privateNamed: "tls",
                arguments: ["--ssl-cert=\(directory)/server.pem", "--ssl-key=\(directory)/server.key", "--ssl-ca=\(directory)/ca.pem"]
            )
        } catch {
            TestFiles.removeTree(directory)
            throw error
        }
    }

    func stop() {
        server.stop()
        TestFiles.removeTree(directory)
    }

    func configuration(_ mode: MySQLTLSMode, ca: String? = "ca") -> MySQLConfiguration {
        var configuration = server.configuration
        configuration.tls = mode
        configuration.tlsCAFile = ca.map { "\(directory)/\($0).pem" }
        return configuration
    }
}

@Suite(
    "MySQL: TLS to a real MariaDB",
    .enabled(if: MariaDBServer.isInstalled && TLSLibrary.isAvailable && findExecutable("openssl") != nil, "needs mariadbd, OpenSSL 3 and the openssl tool")
)
struct MySQLTLSTests {
    @Test("tls: .require verifies the server's certificate against the CA and runs queries over TLS; a wrong CA fails clearly")
    func verified() throws {
        let database = try TLSMariaDB()
        defer { database.stop() }
        let testLoop = try TestLoop()

        let connection = try connected(testLoop, database.configuration(.require))
        defer { connection.close() }
        let cipher = try run(testLoop, connection, "SHOW STATUS LIKE 'Ssl_version'").rows.first?[1].string ?? ""
        #expect(cipher.hasPrefix("TLSv1."), "Ssl_version \(cipher)")
        #expect(try run(testLoop, connection, "SELECT ? + 1", [.int(1)]).rows.first?[0] == .int(2))

        // The pool, and the URL form.
        var url = database.configuration(.disabled)
        url = try MySQLConfiguration(url: "mysql://wm:secret@127.0.0.1:\(url.port)/wmtest?tls=prefer&ca=\(database.directory)/ca.pem")
        let pool = MySQLPool(loop: testLoop.loop, configuration: url)
        defer { pool.close() }
        let pooled = try wait(testLoop, "a pooled query") { pool.query("SHOW STATUS LIKE 'Ssl_cipher'", [], $0) }.get()
        let pooledCipher = pooled.rows.first?[1].string ?? ""
        #expect(pooledCipher.count > 0)

        // A CA that did not sign the server's certificate: the login fails with OpenSSL's reason.
        let refused = MySQLConnection(loop: testLoop.loop, configuration: database.configuration(.require, ca: "other-ca"))
        let wrong = try wait(testLoop, "a wrong CA") { refused.connect($0) }
        guard case .failure(let error) = wrong else {
            Issue.record("logged in with a certificate from an unknown CA")
            return
        }
        #expect(error.code == .connection && error.description.contains("certificate verify failed"), "\(error)")
        #expect(error.server == database.server.configuration.serverName)

        // The right CA but the wrong name.
        var misnamed = database.configuration(.require)
        misnamed.tlsServerName = "db.example.com"
        let misnamedConnection = MySQLConnection(loop: testLoop.loop, configuration: misnamed)
        let misnamedResult = try wait(testLoop, "a wrong name") { misnamedConnection.connect($0) }
        #expect((try? misnamedResult.get()) == nil)

        // Verification off (self-signed servers): logs in, still encrypted.
        var unverified = database.configuration(.require, ca: nil)
        unverified.tlsVerifyPeer = false
        let anyone = try connected(testLoop, unverified)
        defer { anyone.close() }
        #expect((try run(testLoop, anyone, "SHOW STATUS LIKE 'Ssl_version'").rows.first?[1].string ?? "").hasPrefix("TLSv1."))
    }
}
