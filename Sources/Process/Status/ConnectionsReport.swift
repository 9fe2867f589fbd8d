import WorkermanTransport

#if canImport(Glibc)
import Glibc
#endif

/// The `connections` command's table: one row per connection of every process.
enum ConnectionsReport {
    static let header = [
        "PID", "Worker", "CID", "Trans", "Protocol", "ipv4", "ipv6", "Recv-Q", "Send-Q", "Bytes-R", "Bytes-W",
        "Status", "Local Address", "Foreign Address",
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
                String(pid), workerName, String(info.id), transport(info), codec(info), ipv4, ipv6,
                size(info.receiveQueue), size(info.sendQueue), size(info.bytesRead), size(info.bytesWritten),
                info.status.rawValue, info.localAddress, info.remoteAddress,
            ].joined(separator: "\t")
        }.joined(separator: "\n")
    }

    /// `ssl` for a TLS connection, as Workerman shows its transport.
    static func transport(_ info: ConnectionInfo) -> String { info.security.isEmpty ? info.transport.rawValue : "ssl" }

    /// The codec, and for a TLS connection its version and cipher: `http/TLSv1.3/TLS_AES_128_GCM_SHA256`
    /// (one column, no spaces, so the table keeps its shape).
    static func codec(_ info: ConnectionInfo) -> String {
        info.security.isEmpty ? info.codec : ([info.codec] + info.security.split(separator: " ").map(String.init)).joined(separator: "/")
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
