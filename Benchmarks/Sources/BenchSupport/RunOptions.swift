/// Command-line options shared by the bench-* executables.
///
/// ```
/// bench-loop [--rounds N] [--count N] [--timeout SECONDS] [--no-warmup] [--only ours|peer] [--list] [NAME ...]
/// ```
public struct RunOptions {
    /// Interleaved rounds; the table reports medians over them.
    public var rounds = 3
    /// Operations per measurement, overriding each benchmark's default.
    public var count: Int?
    /// Wall-clock limit per measurement.
    public var timeoutSeconds = 30.0
    /// Run each benchmark once at a tenth of its count before measuring.
    public var warmup = true
    /// Only list the benchmarks.
    public var list = false
    /// Run one contestant only (for profiling): `ours` or `peer`; nil runs both.
    public var side: Side?
    /// Benchmarks to run; empty means all.
    public var names: [String] = []

    public enum Side: String {
        case ours
        case peer
    }

    public init() {}

    public static let usage = """
        usage: bench-loop [--rounds N] [--count N] [--timeout SECONDS] [--no-warmup] [--only ours|peer] [--list] [NAME ...]
          --rounds N         interleaved rounds, median reported (default 3)
          --count N          operations per measurement (default: each benchmark's own, 1,000,000)
          --timeout SECONDS  wall-clock limit per measurement (default 30)
          --no-warmup        skip the warm-up pass
          --only ours|peer   run one side only (to profile it); the other column shows n/a
          --list             list the benchmarks and exit
          NAME ...           run only these benchmarks
        """

    /// Parses `arguments` (without the program name).
    public init(parsing arguments: [String]) throws {
        var remaining = arguments[...]
        func value(for flag: String) throws -> String {
            guard let value = remaining.popFirst() else { throw BenchError("\(flag) needs a value\n\(Self.usage)") }
            return value
        }
        while let argument = remaining.popFirst() {
            switch argument {
            case "--rounds":
                guard let rounds = Int(try value(for: argument)), rounds > 0 else {
                    throw BenchError("--rounds needs a positive integer")
                }
                self.rounds = rounds
            case "--count":
                guard let count = Int(try value(for: argument)), count > 0 else {
                    throw BenchError("--count needs a positive integer")
                }
                self.count = count
            case "--timeout":
                guard let seconds = Double(try value(for: argument)), seconds > 0, seconds.isFinite else {
                    throw BenchError("--timeout needs a positive number of seconds")
                }
                timeoutSeconds = seconds
            case "--only":
                guard let side = Side(rawValue: try value(for: argument)) else {
                    throw BenchError("--only takes ours or peer")
                }
                self.side = side
            case "--no-warmup":
                warmup = false
            case "--list":
                list = true
            case "-h", "--help":
                throw BenchError(Self.usage)
            default:
                guard !argument.hasPrefix("-") else { throw BenchError("unknown option \(argument)\n\(Self.usage)") }
                names.append(argument)
            }
        }
    }
}
