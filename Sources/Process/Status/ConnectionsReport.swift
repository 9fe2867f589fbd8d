import WorkermanTransport

#if canImport(Glibc)
import Glibc
#endif

/// The `connections` command's table: one row per connection of every process.
enum ConnectionsReport {
    static let header = [
        "PID", "Worker", "CID", "Trans", "Protocol", "ipv4", "ipv6", "Recv-Q", "Send-Q", "Bytes-R", "Bytes-W",
        "Status", "Local Address", "Foreign Address", "TLS",
    ]

    /// The last line of a child's answer: the CLI takes a file only once it is there.
    static let endLine = "#end"

    /// A child's answer: its rows, tab-separated (the CLI aligns them), then the end line.
    static func answer(pid: pid_t, workerName: String, connections: [ConnectionInfo]) -> String {
        let rows = rows(pid: pid, workerName: workerName, connections: connections)
        return (rows.isEmpty ? "" : rows + "\n") + endLine + "\n"
    }

    /// The rows of a complete answer; nil while the child has not finished writing it.
    static func complete(_ answer: String) -> String? {
        guard answer.hasSuffix(endLine + "\n") else { return nil }
        return String(answer.dropLast(endLine.count + 1))
    }

    /// This process's rows, tab-separated (the CLI aligns them).
    static func rows(pid: pid_t, workerName: String, connections: [ConnectionInfo]) -> String {
        connections.map { info in
            let ipv4 = info.remoteAddress.first?.isNumber == true ? "1" : "0"
            let ipv6 = info.remoteAddress.hasPrefix("[") ? "1" : "0"
            return [
                String(pid), workerName, String(info.id), info.transport.rawValue, info.codec, ipv4, ipv6,
                size(info.receiveQueue), size(info.sendQueue), size(info.bytesRead), size(info.bytesWritten),
                info.status.rawValue, info.localAddress, info.remoteAddress, info.security.isEmpty ? "-" : info.security,
            ].joined(separator: "\t")
        }.joined(separator: "\n")
    }

    /// `B`, `KB`, `MB`, `GB` with one decimal, as Workerman prints sizes.
    static func size(_ bytes: Int) -> String {
        let units = ["B", "KB", "MB", "GB", "TB"]
        var value = Double(bytes)
        var unit = 0
        while value >= 1024 && unit < units.count - 1 {
            value /= 1024
            unit += 1
        }
        return unit == 0 ? "\(bytes)B" : String(format1: value) + units[unit]
    }
}
