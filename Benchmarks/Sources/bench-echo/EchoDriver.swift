import BenchSupport
import WorkermanEventLoop

#if canImport(Glibc)
import Glibc
#endif

/// Runs servers and load generators as pinned child processes, in interleaved rounds.
struct EchoDriver {
    var rounds = 3
    var connections = 100
    var size = 64
    var window = 1
    var duration = 5.0

    init(arguments: [String]) throws {
        var iterator = arguments.makeIterator()
        while let argument = iterator.next() {
            let value = iterator.next() ?? ""
            switch argument {
            case "--rounds": rounds = Int(value) ?? rounds
            case "--connections": connections = Int(value) ?? connections
            case "--size": size = Int(value) ?? size
            case "--window": window = Int(value) ?? window
            case "--duration": duration = Double(value) ?? duration
            default:
                print("usage: bench-echo [--rounds N] [--connections N] [--size BYTES] [--window N] [--duration SECONDS]")
                exit(2)
            }
        }
    }

    func run() throws {
        let executable = try selfPath()
        var ours: [Double] = []
        var nio: [Double] = []
        var ratios: [Double] = []
        print("# bench-echo: \(connections) connections, \(size)-byte messages, window \(window), \(duration) s per run, \(rounds) rounds")
        for round in 1...rounds {
            var rates: [String: Double] = [:]
            for impl in round % 2 == 1 ? ["ours", "nio"] : ["nio", "ours"] {
                let server = try ChildProcess(["taskset", "-c", "0", executable, "serve", impl, "0"])
                defer { server.stop() }
                guard let portLine = server.readLine(), portLine.hasPrefix("port "), let port = Int(portLine.dropFirst(5)) else {
                    throw Errno(rawValue: EPROTO)
                }
                let client = try ChildProcess([
                    "taskset", "-c", "1", executable, "load", String(port), String(connections), String(size),
                    String(window), String(duration),
                ])
                let line = client.readLine() ?? ""
                client.wait()
                let fields = line.split(separator: " ")
                guard fields.count == 4, let messages = Double(fields[1]), let seconds = Double(fields[3]) else {
                    throw Errno(rawValue: EPROTO)
                }
                rates[impl] = messages / seconds
                log("round \(round) \(impl): \(Int(messages / seconds)) msgs/s")
            }
            ours.append(rates["ours"]!)
            nio.append(rates["nio"]!)
            ratios.append(rates["ours"]! / rates["nio"]!)
        }
        print("| benchmark | ours (msgs/s) | SwiftNIO (msgs/s) | ours/NIO |")
        print("| --- | ---: | ---: | ---: |")
        print("| tcp echo c\(connections) \(size) B w\(window) | \(Int(median(ours))) | \(Int(median(nio))) | \(String(format2(median(ratios)))) |")
    }

    private func selfPath() throws -> String {
        var buffer = [CChar](repeating: 0, count: 4096)
        let length = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        guard length > 0 else { throw Errno(rawValue: errno) }
        return String(decoding: buffer[0..<length].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

func median(_ values: [Double]) -> Double {
    let sorted = values.sorted()
    guard !sorted.isEmpty else { return .nan }
    return sorted.count % 2 == 1 ? sorted[sorted.count / 2] : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
}

func format2(_ value: Double) -> String {
    let scaled = (value * 100).rounded()
    return "\(Int(scaled) / 100).\(String(Int(scaled) % 100).leftPadded(2))"
}

extension String {
    func leftPadded(_ width: Int) -> String { String(repeating: "0", count: max(0, width - count)) + self }
}

func log(_ message: String) {
    var line = Array("\(message)\n".utf8)
    _ = line.withUnsafeMutableBytes { write(2, $0.baseAddress, $0.count) }
}

/// A child process with its stdout on a pipe; stopped by its pid with SIGINT, then SIGKILL.
final class ChildProcess {
    let pid: pid_t
    private let output: CInt
    private var pending: [UInt8] = []

    init(_ argv: [String]) throws {
        var pipeFDs: [CInt] = [0, 0]
        guard pipe(&pipeFDs) == 0 else { throw Errno(rawValue: errno) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        posix_spawn_file_actions_adddup2(&actions, pipeFDs[1], 1)
        posix_spawn_file_actions_addclose(&actions, pipeFDs[0])
        var cArguments = argv.map { strdup($0) } + [nil]
        defer { cArguments.forEach { free($0) } }
        var child: pid_t = 0
        let status = posix_spawnp(&child, argv[0], &actions, nil, &cArguments, environ)
        posix_spawn_file_actions_destroy(&actions)
        close(pipeFDs[1])
        guard status == 0 else {
            close(pipeFDs[0])
            throw Errno(rawValue: status)
        }
        pid = child
        output = pipeFDs[0]
    }

    /// One line of the child's stdout (blocking, bounded by the child's own lifetime).
    func readLine() -> String? {
        while true {
            if let newline = pending.firstIndex(of: 10) {
                let line = String(decoding: pending[..<newline], as: UTF8.self)
                pending.removeSubrange(...newline)
                return line
            }
            var chunk = [UInt8](repeating: 0, count: 4096)
            let count = chunk.withUnsafeMutableBytes { read(output, $0.baseAddress, $0.count) }
            guard count > 0 else { return nil }
            pending.append(contentsOf: chunk[0..<count])
        }
    }

    func wait() {
        var status: CInt = 0
        _ = waitpid(pid, &status, 0)
    }

    func stop() {
        kill(pid, SIGINT)
        for _ in 0..<100 {
            var status: CInt = 0
            if waitpid(pid, &status, WNOHANG) == pid {
                close(output)
                return
            }
            usleep(20_000)
        }
        kill(pid, SIGKILL)
        wait()
        close(output)
    }
}
