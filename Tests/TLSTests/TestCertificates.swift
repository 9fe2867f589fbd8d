import WorkermanTLS
import WorkermanTestSupport
import XCTest

extension TestCertificates {
    /// The certificates, or a skip naming why a TLS test cannot run.
    static func require() throws -> TestCertificates {
        guard TLSLibrary.isAvailable else { throw XCTSkip("TLS tests need OpenSSL 3: \(TLSLibrary.unavailableReason ?? "")") }
        switch shared {
        case .success(let certificates): return certificates
        case .failure(let error): throw XCTSkip("cannot make test certificates: \(error.reason)")
        }
    }
}
