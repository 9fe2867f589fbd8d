// libFuzzer entry for the MySQL client's packet and row decoders (Fuzz/run.sh mysql). Not part of the
// package build. The checks live in WorkermanMySQL's `MySQLStreamCheck`, which the corpus replay in
// `swift test` (MySQLFuzzCorpusTests) runs too: the first byte picks the exchange, the rest is what the
// server sends; whole and byte-by-byte runs must agree, and nothing may trap.
import WorkermanMySQL

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzMySQL(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let (whole, byteByByte) = MySQLStreamCheck.run(Array(UnsafeBufferPointer(start: data, count: size)))
    if whole != byteByByte { fatalError("splits disagree: \(whole) vs \(byteByByte)") }
    return 0
}
