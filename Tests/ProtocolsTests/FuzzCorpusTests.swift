import Foundation
import Testing
import WorkermanProtocols
import WorkermanTestSupport
import WorkermanTransport

/// Replays the checked-in fuzz corpora (Fuzz/corpus) with the fuzz targets' settings, so an input the
/// fuzzer once found interesting, or a crash it found (added to the corpus as a regression), stays
/// covered by `swift test`. Each file: one settings byte, then the stream.
@Suite("Fuzz corpus replay")
struct FuzzCorpusTests {
    static let corpus = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fuzz/corpus")

    static func inputs(_ target: String) -> [[UInt8]] {
        let folder = corpus.appendingPathComponent(target)
        let names = (try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []
        return names.sorted().compactMap { name in
            (try? Data(contentsOf: folder.appendingPathComponent(name))).map { Array($0) }
        }
    }

    @Test("the corpora are present")
    func present() {
        #expect(Self.inputs("http").count > 100)
        #expect(!Self.inputs("textframe").isEmpty)
    }

    @Test("HTTP inputs: every split agrees (settings as in Fuzz/HTTPRequestFuzz)")
    func http() throws {
        for input in Self.inputs("http") where !input.isEmpty {
            let settings = input[0]
            var configuration = HTTPServerConfiguration()
            configuration.maxHeaderSize = settings & 1 == 0 ? 16_384 : 96
            configuration.maxHeaderCount = settings & 2 == 0 ? 100 : 4
            if settings & 4 != 0 { configuration.allowedMethods = nil }
            let verifier = httpVerifier(
                maxPackageSize: settings & 8 == 0 ? 1 << 20 : 200,
                configuration: configuration,
                respond: { request in
                    _ = (request.headers, request.query, request.cookies, request.form)
                    var options = MultipartOptions()
                    options.memoryThreshold = Int.max
                    _ = try? request.multipart(options)
                    if settings & 16 != 0 { return [.response(.chunked()), .chunk("part"), .chunk(.end)] }
                    return [.response(HTTPResponse(body: "\(request.method) \(request.path)"))]
                }
            )
            _ = try verifier.verify(Array(input.dropFirst()))
        }
    }

    @Test("text and frame inputs: every split agrees (settings as in Fuzz/TextFrameFuzz)")
    func textFrame() throws {
        for input in Self.inputs("textframe") where !input.isEmpty {
            let settings = input[0]
            let maxPackageSize = settings & 2 == 0 ? 1 << 16 : 24
            let stream = Array(input.dropFirst())
            if settings & 1 == 0 {
                _ = try CodecVerifier<TextCodec>(maxPackageSize: maxPackageSize, respond: { [$0] }).verify(stream)
            } else {
                _ = try CodecVerifier<FrameCodec>(maxPackageSize: maxPackageSize, respond: { [$0] }).verify(stream)
            }
        }
    }
}
