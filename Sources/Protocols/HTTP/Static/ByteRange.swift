/// A `Range: bytes=…` request header resolved against a file size (RFC 9110 §14): one satisfiable range,
/// an unsatisfiable one (416), or none to honour (serve the whole file). Several ranges are answered with
/// the whole file, which the RFC allows.
enum ByteRange: Equatable {
    case whole
    case part(first: Int, last: Int)
    case unsatisfiable

    init(header: String?, size: Int) {
        guard let header, header.hasPrefix("bytes=") else {
            self = .whole
            return
        }
        let spec = header.dropFirst(6)
        guard !spec.contains(","), let dash = spec.firstIndex(of: "-") else {
            self = .whole
            return
        }
        let start = spec[..<dash].trimmingCharacters()
        let end = spec[spec.index(after: dash)...].trimmingCharacters()
        if start.isEmpty {
            // A suffix: the last `n` bytes.
            guard let suffix = Int(end), suffix > 0 else {
                self = end.isEmpty ? .whole : .unsatisfiable
                return
            }
            guard size > 0 else {
                self = .unsatisfiable
                return
            }
            self = .part(first: max(0, size - suffix), last: size - 1)
            return
        }
        guard let first = Int(start), first >= 0, end.isEmpty || Int(end) != nil else {
            self = .whole  // a malformed range is ignored (§14.2)
            return
        }
        guard first < size else {
            self = .unsatisfiable
            return
        }
        let last = end.isEmpty ? size - 1 : min(Int(end)!, size - 1)
        self = last >= first ? .part(first: first, last: last) : .whole
    }
}

extension Substring {
    fileprivate func trimmingCharacters() -> String {
        String(drop { $0 == " " }.reversed().drop { $0 == " " }.reversed())
    }
}
