import WorkermanEventLoop
#if canImport(Glibc)
import Glibc
#endif

/// Certificates made at test time with the `openssl` command (no key is ever committed): a test CA, a
/// server certificate for `localhost` and 127.0.0.1 signed by it (ECDSA P-256), its key also encrypted
/// with a passphrase, a client certificate, and an unrelated key.
public struct TestCertificates: Sendable {
    public let directory: String
    public var caCertificate: String { directory + "/ca.pem" }
    public var serverCertificate: String { directory + "/server.pem" }
    public var serverKey: String { directory + "/server.key" }
    public var encryptedServerKey: String { directory + "/server-encrypted.key" }
    public static let passphrase = "correct horse"
    public var clientCertificate: String { directory + "/client.pem" }
    public var clientKey: String { directory + "/client.key" }
    public var otherKey: String { directory + "/other.key" }
    /// A second server certificate, for `other.test` (SNI), signed by the test CA.
    public var otherNameCertificate: String { directory + "/other-name.pem" }
    public var otherNameKey: String { directory + "/other-name.key" }
    /// A self-signed certificate for `localhost` that no CA vouches for.
    public var selfSignedCertificate: String { directory + "/self.pem" }
    public var selfSignedKey: String { directory + "/self.key" }

    /// Made once per test run; a failure when `openssl` is missing or failed (the log says why).
    public static let shared: Result<TestCertificates, TestCertificateError> = make()

    private static func make() -> Result<TestCertificates, TestCertificateError> {
        let directory: String
        do {
            directory = try TestFiles.makeTemporaryDirectory("workerman-tls-certs")
        } catch {
            return .failure(TestCertificateError(reason: "\(error)"))
        }
        let ec = "-newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes"
        let script = """
            set -e
            cd '\(directory)'
            printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\\n' > server.ext
            printf 'extendedKeyUsage=clientAuth\\n' > client.ext
            openssl req -x509 \(ec) -keyout ca.key -out ca.pem -days 2 -subj '/CN=Workerman Test CA' \
              -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign
            openssl req \(ec) -keyout server.key -out server.csr -subj '/CN=localhost'
            openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out server.pem -days 2 -extfile server.ext
            openssl pkey -in server.key -aes256 -passout 'pass:\(passphrase)' -out server-encrypted.key
            openssl req \(ec) -keyout client.key -out client.csr -subj '/CN=test-client'
            openssl x509 -req -in client.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out client.pem -days 2 -extfile client.ext
            printf 'subjectAltName=DNS:other.test\\n' > other-name.ext
            openssl req \(ec) -keyout other-name.key -out other-name.csr -subj '/CN=other.test'
            openssl x509 -req -in other-name.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out other-name.pem -days 2 -extfile other-name.ext
            openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out other.key
            openssl req -x509 \(ec) -keyout self.key -out self.pem -days 2 -subj '/CN=localhost' -addext subjectAltName=DNS:localhost,IP:127.0.0.1
            """
        let log = directory + "/openssl.log"
        do {
            let pid = try ChildProcess.spawn("/bin/sh", ["-c", script], output: .file(log, append: false))
            let code = ChildProcess.waitForExit(pid, seconds: 60)
            guard code == 0 else {
                return .failure(TestCertificateError(reason: "openssl exited \(code): \(TestFiles.readText(log) ?? "")"))
            }
        } catch {
            return .failure(TestCertificateError(reason: "\(error)"))
        }
        return .success(TestCertificates(directory: directory))
    }
}

public struct TestCertificateError: Error, Sendable {
    public let reason: String
}
