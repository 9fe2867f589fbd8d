import Testing
import WorkermanTransport

@testable import WorkermanComponents

@Suite("PHP serialize/unserialize")
struct PHPValueTests {
    /// Each pair was printed by PHP 8.2's serialize().
    static let vectors: [(PHPValue, String)] = [
        (.null, "N;"),
        (true, "b:1;"),
        (false, "b:0;"),
        (0, "i:0;"),
        (-42, "i:-42;"),
        (.int(Int.max), "i:9223372036854775807;"),
        (.int(Int.min), "i:-9223372036854775808;"),
        (0.1, "d:0.1;"),
        (1e25, "d:1.0E+25;"),
        (.double(-0.0), "d:-0;"),
        (1.0, "d:1;"),
        (100.0, "d:100;"),
        (.double(.infinity), "d:INF;"),
        (.double(-.infinity), "d:-INF;"),
        (1e-7, "d:1.0E-7;"),
        (1.5e-5, "d:1.5E-5;"),
        (0.0001, "d:0.0001;"),
        (123456789012345678.0, "d:1.2345678901234568E+17;"),
        (1e15, "d:1000000000000000;"),
        (1e16, "d:10000000000000000;"),
        (1e17, "d:1.0E+17;"),
        (2.5, "d:2.5;"),
        (-3.75, "d:-3.75;"),
        (.double(1.0 / 3.0), "d:0.3333333333333333;"),
        (.double(.leastNonzeroMagnitude), "d:5.0E-324;"),
        (1.7976931348623157e308, "d:1.7976931348623157E+308;"),
        ("", "s:0:\"\";"),
        ("héllo", "s:6:\"héllo\";"),
        ("a\"b;c", "s:5:\"a\"b;c\";"),
        (
            ["a": 1, "5": 2, "-0": 3, "05": 4, 7: true, "x": .null, "s": "héllo"],
            "a:7:{s:1:\"a\";i:1;i:5;i:2;s:2:\"-0\";i:3;s:2:\"05\";i:4;i:7;b:1;s:1:\"x\";N;s:1:\"s\";s:6:\"héllo\";}"
        ),
        (["x", ["y", []]], "a:2:{i:0;s:1:\"x\";i:1;a:2:{i:0;s:1:\"y\";i:1;a:0:{}}}"),
    ]

    @Test("serialize writes exactly what PHP writes", arguments: 0..<vectors.count)
    func serializeMatchesPHP(index: Int) {
        let (value, expected) = Self.vectors[index]
        #expect(String(decoding: value.serialized(), as: UTF8.self) == expected)
    }

    @Test("unserialize reads PHP's output back to the same value", arguments: 0..<vectors.count)
    func unserializeRoundTrips(index: Int) throws {
        let (value, text) = Self.vectors[index]
        let parsed = try PHPValue(unserializing: text)
        #expect(parsed == value || (parsed.doubleValue?.isNaN ?? false))
        #expect(parsed.serialized() == Array(text.utf8))
    }

    @Test("NAN serializes as PHP does and reads back as NaN")
    func notANumber() throws {
        #expect(PHPValue.double(.nan).serialized() == Array("d:NAN;".utf8))
        #expect(try PHPValue(unserializing: "d:NAN;").doubleValue?.isNaN == true)
    }

    @Test("shortest round-trip doubles survive serialize → unserialize, across magnitudes")
    func doubleRoundTrip() throws {
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<2000 {
            let value = Double(bitPattern: generator.next() & 0x7FEF_FFFF_FFFF_FFFF) * (Bool.random() ? 1 : -1)
            let text = String(decoding: PHPValue.double(value).serialized(), as: UTF8.self)
            #expect(try PHPValue(unserializing: text) == .double(value), "\(value) → \(text)")
        }
    }

    @Test("PHP's lenient number forms are read: +5, 1., .5, exponents")
    func lenientNumbers() throws {
        #expect(try PHPValue(unserializing: "i:+5;") == 5)
        #expect(try PHPValue(unserializing: "d:1.;") == 1.0)
        #expect(try PHPValue(unserializing: "d:.5;") == 0.5)
        #expect(try PHPValue(unserializing: "d:2e3;") == 2000.0)
        #expect(try PHPValue(unserializing: "d:5;") == 5.0)
    }

    @Test("string keys that are canonical ints become int keys, as in PHP")
    func keyNormalisation() throws {
        let parsed = try PHPValue(unserializing: "a:2:{s:1:\"5\";i:1;s:2:\"05\";i:2;}")
        #expect(parsed.arrayValue?.keys == [.int(5), .string(Array("05".utf8))])
        #expect(PHPKey("5") == 5)
        #expect(PHPKey("-7") == -7)
        #expect(PHPKey("-0") == .string(Array("-0".utf8)))
        #expect(PHPKey("99999999999999999999") == .string(Array("99999999999999999999".utf8)))
    }

    @Test("a duplicate key keeps its first position and its last value, as in PHP")
    func duplicateKeys() throws {
        let parsed = try PHPValue(unserializing: "a:3:{i:0;s:1:\"a\";i:1;s:1:\"b\";i:0;s:1:\"c\";}")
        #expect(parsed.arrayValue?.values == ["c", "b"])
    }

    @Test("arrays keep order, append after the largest int key, and remove")
    func arrayBehaviour() {
        var array = PHPArray()
        array["x"] = 1
        array[10] = 2
        array.append(3)
        #expect(array.keys == ["x", 10, 11])
        array["x"] = nil
        #expect(array.keys == [10, 11])
        #expect(array[11] == 3)
        #expect(!array.isList)
        #expect(PHPArray(list: [1, 2]).isList)
    }

    @Test("one trailing newline is allowed (Channel events carry one); anything else after the value is not")
    func trailingBytes() throws {
        #expect(try PHPValue(unserializing: "i:1;\n") == 1)
        #expect(throws: PHPSerializationError.self) { try PHPValue(unserializing: "i:1;x") }
        #expect(throws: PHPSerializationError.self) { try PHPValue(unserializing: "i:1;\n\n") }
    }

    static let garbage: [String] = [
        "", "N", "x:1;", "i:;", "i:1", "i:12a;", "i:99999999999999999999;", "b:2;", "b:1", "d:;", "d:1e;",
        "d:0x10;", "d:inf;", "d:nan;", "s:5:\"abc\";", "s:-1:\"\";", "s:1:\"ab\";", "s:1:\"a\"", "s:1:'a';",
        "s:99999999999:\"a\";", "a:1:{}", "a:-1:{}", "a:2:{i:0;N;}", "a:1:{i:0;N;", "a:1:{d:1.5;N;}",
        "a:1:{N;N;}", "a:99999999:{i:0;N;}", "O:8:\"stdClass\":0:{}", "r:1;", "R:1;", "C:3:\"Foo\":0:{}",
        "E:7:\"Foo:Bar\";", "i:1;i:2;",
    ]

    @Test("garbage throws with an offset, never traps", arguments: garbage)
    func garbageThrows(text: String) {
        #expect(throws: PHPSerializationError.self) { try PHPValue(unserializing: text) }
    }

    @Test("nesting beyond the limit throws instead of exhausting the stack")
    func deepNesting() {
        let depth = 100_000
        let text = String(repeating: "a:1:{i:0;", count: depth) + "N;" + String(repeating: "}", count: depth)
        #expect(throws: PHPSerializationError.self) { try PHPValue(unserializing: text) }
        let fine = String(repeating: "a:1:{i:0;", count: 60) + "N;" + String(repeating: "}", count: 60)
        #expect(throws: Never.self) { try PHPValue(unserializing: fine) }
    }

    @Test("random bytes and mutated valid input never trap")
    func fuzz() {
        var generator = SystemRandomNumberGenerator()
        let seeds = Self.vectors.map { Array($0.1.utf8) }
        for round in 0..<20_000 {
            var bytes: [UInt8]
            if round % 2 == 0 {
                bytes = (0..<Int.random(in: 0...40, using: &generator)).map { _ in
                    Array("aidsbN:;{}\"0123456789-.E".utf8).randomElement(using: &generator)!
                }
            } else {
                bytes = seeds.randomElement(using: &generator)!
                for _ in 0..<Int.random(in: 1...3, using: &generator) where !bytes.isEmpty {
                    bytes[Int.random(in: 0..<bytes.count, using: &generator)] = UInt8.random(in: 0...255, using: &generator)
                }
            }
            _ = try? PHPValue(unserializing: bytes)
        }
    }

    @Test("numeric strings follow PHP 8's is_numeric")
    func numericStrings() {
        #expect(PHPValue("12").numericValue == 12)
        #expect(PHPValue(" 12 ").numericValue == 12)
        #expect(PHPValue("1.5").numericValue == 1.5)
        #expect(PHPValue("1e3").numericValue == 1000.0)
        #expect(PHPValue("-.5").numericValue == -0.5)
        #expect(PHPValue("abc").numericValue == nil)
        #expect(PHPValue("12abc").numericValue == nil)
        #expect(PHPValue("").numericValue == nil)
        #expect(PHPValue("99999999999999999999").numericValue == .double(1e20))
        #expect(PHPValue.bool(true).numericValue == nil)
    }
}

@Suite("Digests")
struct DigestTests {
    @Test("MD5 matches PHP's md5()")
    func md5() {
        #expect(MD5.hex(Array("".utf8)) == "d41d8cd98f00b204e9800998ecf8427e")
        #expect(MD5.hex(Array("abc".utf8)) == "900150983cd24fb0d6963f7d28e17f72")
        #expect(MD5.hex(Array("The quick brown fox jumps over the lazy dog".utf8)) == "9e107d9d372bb6826bd81d3542a419d6")
        #expect(MD5.hex(Array(repeating: UInt8(ascii: "a"), count: 1000)) == "cabe45dcc9ae5b66ba86600cca6b8ba8")
        // md5(serialize(null)), which GlobalData's cas sends for "no value yet".
        #expect(MD5.hex(PHPValue.null.serialized()) == "dcca48101505dd86b703689a604fe3c4")
    }

    @Test("CRC-32 matches PHP's crc32()")
    func crc32() {
        #expect(CRC32.checksum("The quick brown fox jumped over the lazy dog.".utf8) == 2_191_738_434)
        #expect(CRC32.checksum("".utf8) == 0)
        #expect(CRC32.checksum("123456789".utf8) == 0xCBF4_3926)
    }
}
