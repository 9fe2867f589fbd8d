// Replays the MySQL fuzz corpus (Fuzz/corpus/mysql) through the fuzz target's own checks
// (`MySQLStreamCheck`), so inputs the fuzzer found interesting, and any crash it found (added there once
// fixed), stay covered by `swift test`.

import Testing
import WorkermanMySQL
import WorkermanTestSupport

@Suite("MySQL fuzz corpus replay")
struct MySQLFuzzCorpusTests {
    static let folder: String = {
        var path = #filePath
        for _ in 0..<4 { path = String(path[..<(path.lastIndex(of: "/") ?? path.startIndex)]) }
        return path + "/Fuzz/corpus/mysql"
    }()

    @Test("every corpus input: no trap, and whole and byte-by-byte runs agree")
    func replay() throws {
        let names = TestFiles.names(in: Self.folder).sorted()
        #expect(names.count >= 9, "the seeds are missing from \(Self.folder)")
        for name in names {
            guard let bytes = TestFiles.readBytes("\(Self.folder)/\(name)") else { continue }
            let (whole, byteByByte) = MySQLStreamCheck.run(bytes)
            #expect(whole == byteByByte, "\(name)")
            if name == "text-result" { #expect(whole == ["result 1,ann;2,NULL"], "\(whole)") }
            if name == "bad-row" { #expect(whole == ["fatal protocolViolation"], "\(whole)") }
            if name == "login-sha2-rsa-retrieval" { #expect(whole == ["send 1 91", "send 3 1", "send 5 128", "ready 8.0.36 42"], "\(whole)") }
            if name == "login-sha2-tls" { #expect(whole == ["send 1 32", "start TLS", "send 2 91", "send 4 2", "ready 8.0.36 42"], "\(whole)") }
            if name.hasPrefix("login") || name.hasPrefix("text") || name.hasPrefix("binary") || name.hasPrefix("prepare") {
                #expect(!whole.contains { $0.hasPrefix("fatal") }, "\(name): \(whole)")
            }
        }
    }
}
