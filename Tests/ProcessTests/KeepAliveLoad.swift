// A bounded keep-alive HTTP load of our own (wrk is not everywhere): a few blocking clients on their own
// threads, each sending GET / on one connection until told to stop, reconnecting when an answer says
// `Connection: close`. An answer cut off, a reset or a timeout is a failure; a refused connect (the server
// is gone for good) is counted apart.

import Synchronization
import WorkermanEventLoop
import WorkermanTestSupport

#if canImport(Glibc)
import Glibc
#endif

final class KeepAliveLoad: Sendable {
    let stop = Atomic<Bool>(false)
    let answered = Atomic<Int>(0)
    /// Answers that said `Connection: close` (a draining server's goodbye).
    let closeAnswers = Atomic<Int>(0)
    let refused = Atomic<Int>(0)
    private let failures = ThreadLock<[String]>([])

    var failureList: [String] { failures.withLock { $0 } }
    func fail(_ text: String) { failures.withLock { $0.append(text) } }

    /// Starts `connections` clients of `port`. With `endOnRefusal`, a client ends at its first refused
    /// connect (a stop test); otherwise it counts the refusal and tries again.
    static func start(port: UInt16, connections: Int, endOnRefusal: Bool = false) throws -> (KeepAliveLoad, [BackgroundThread]) {
        let load = KeepAliveLoad()
        var threads: [BackgroundThread] = []
        for index in 0..<connections {
            threads.append(try BackgroundThread { load.run(port: port, index: index, endOnRefusal: endOnRefusal) })
        }
        return (load, threads)
    }

    private func run(port: UInt16, index: Int, endOnRefusal: Bool) {
        var client: Client?
        while !stop.load(ordering: .relaxed) {
            if client == nil {
                do {
                    client = try Client(port: port, timeout: 5)
                } catch {
                    refused.add(1, ordering: .relaxed)
                    if endOnRefusal { return }
                    continue
                }
            }
            do {
                try client!.send("GET / HTTP/1.1\r\nHost: load\r\n\r\n")
                let answer = try client!.read(until: Self.isCompleteResponse).lowercased()
                guard answer.hasPrefix("http/1.1 200") else {
                    fail("client \(index): \(answer.prefix(40))")
                    client = nil
                    continue
                }
                answered.add(1, ordering: .relaxed)
                if answer.contains("\r\nconnection: close\r\n") {
                    closeAnswers.add(1, ordering: .relaxed)
                    client = nil
                }
            } catch {
                fail("client \(index): \(error)")
                client = nil
            }
        }
    }

    /// Whether `bytes` hold a whole response: the head and `Content-Length` bytes of body.
    static func isCompleteResponse(_ bytes: [UInt8]) -> Bool {
        let end: [UInt8] = [13, 10, 13, 10]
        guard bytes.count >= 4, let headEnd = (0...(bytes.count - 4)).first(where: { Array(bytes[$0..<$0 + 4]) == end }) else {
            return false
        }
        let head = String(decoding: bytes[..<headEnd], as: UTF8.self).lowercased()
        let length = head.split(separator: "\r\n").first { $0.hasPrefix("content-length:") }
            .flatMap { Int($0.dropFirst(15).trimmingPrefix(" ")) } ?? 0
        return bytes.count >= headEnd + 4 + length
    }
}
