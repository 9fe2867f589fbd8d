/// Reports summed per interface and per minute, in bounded memory: at most `maxInterfaces` interfaces
/// (reports for more are counted in `overflow`, not kept) and the last `minutes` minutes of each, with
/// the failure codes of each minute capped at `maxCodes` distinct codes.
public struct StatisticsAggregator: Sendable {
    /// One interface's minute.
    public struct Minute: Sendable, Hashable {
        public var minute: Int
        public var calls = 0
        public var successes = 0
        /// Seconds, summed.
        public var cost = 0.0
        public var maxCost = 0.0
        /// Failure code → count.
        public var codes: [Int32: Int] = [:]
        /// The last failure's message.
        public var lastMessage = ""
    }

    public struct Key: Hashable, Sendable {
        public var module: String
        public var interface: String
    }

    public let minutes: Int
    public let maxInterfaces: Int
    public let maxCodes: Int
    public private(set) var interfaces: [Key: [Minute]] = [:]
    public private(set) var received = 0
    /// Reports for an interface beyond `maxInterfaces`: counted, not kept.
    public private(set) var overflow = 0

    public init(minutes: Int = 60, maxInterfaces: Int = 1_000, maxCodes: Int = 20) {
        self.minutes = minutes
        self.maxInterfaces = maxInterfaces
        self.maxCodes = maxCodes
    }

    /// Adds `report` to its interface's minute (the minute of the report's time: late datagrams land
    /// where they belong, and older than the window they are dropped as expired).
    public mutating func add(_ report: StatisticsReport, now: Int) {
        received += 1
        let key = Key(module: report.module, interface: report.interface)
        guard interfaces[key] != nil || interfaces.count < maxInterfaces else { return overflow += 1 }
        // A report from a skewed clock counts in the current minute rather than one in the future.
        let minute = min(Int(report.time), now) / 60
        guard minute > now / 60 - minutes else { return }
        var list = interfaces[key] ?? []
        let index: Int
        if let found = list.lastIndex(where: { $0.minute == minute }) {
            index = found
        } else {
            list.append(Minute(minute: minute))
            list.sort { $0.minute < $1.minute }
            index = list.firstIndex { $0.minute == minute }!
        }
        list[index].calls += 1
        list[index].cost += report.cost
        list[index].maxCost = max(list[index].maxCost, report.cost)
        if report.success {
            list[index].successes += 1
        } else {
            if list[index].codes[report.code] != nil || list[index].codes.count < maxCodes {
                list[index].codes[report.code, default: 0] += 1
            }
            list[index].lastMessage = String(report.message.prefix(200))
        }
        interfaces[key] = list
    }

    /// Drops the minutes that left the window, and interfaces with none left.
    public mutating func expire(now: Int) {
        let oldest = now / 60 - minutes + 1
        for key in interfaces.keys { interfaces[key]!.removeAll { $0.minute < oldest } }
        interfaces = interfaces.filter { !$0.value.isEmpty }
    }

    /// Totals over the window, per interface, sorted by module then interface.
    public var totals: [(key: Key, total: Minute)] {
        interfaces.map { key, list in
            var total = Minute(minute: list.last?.minute ?? 0)
            for minute in list {
                total.calls += minute.calls
                total.successes += minute.successes
                total.cost += minute.cost
                total.maxCost = max(total.maxCost, minute.maxCost)
                for (code, count) in minute.codes { total.codes[code, default: 0] += count }
                if !minute.lastMessage.isEmpty { total.lastMessage = minute.lastMessage }
            }
            return (key, total)
        }.sorted { ($0.key.module, $0.key.interface) < ($1.key.module, $1.key.interface) }
    }
}
