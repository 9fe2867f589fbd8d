#if canImport(Glibc)
import Glibc
#endif

/// A process's resident memory from `/proc/PID/statm`, read with stack buffers only: the master reads it
/// for every child on each metrics scrape, which must not allocate per child.
enum ResidentMemory {
    private static let pageSize = Int(sysconf(Int32(_SC_PAGESIZE)))

    /// Resident bytes of `pid`; 0 when it cannot be read (the process is gone).
    static func bytes(of pid: pid_t) -> Int {
        guard pid > 0 else { return 0 }
        return withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 96) { space -> Int in
            // "/proc/" + pid + "/statm" + NUL, then the file's first line in the same space.
            var length = 0
            func put(_ text: StaticString) {
                for index in 0..<text.utf8CodeUnitCount {
                    space[length] = text.utf8Start[index]
                    length += 1
                }
            }
            put("/proc/")
            let digitsStart = length
            var rest = Int(pid)
            repeat {
                space[length] = UInt8(ascii: "0") + UInt8(rest % 10)
                length += 1
                rest /= 10
            } while rest > 0
            space[digitsStart..<length].reverse()
            put("/statm")
            space[length] = 0
            let fd = space.baseAddress!.withMemoryRebound(to: CChar.self, capacity: length + 1) { open($0, O_RDONLY | O_CLOEXEC) }
            guard fd >= 0 else { return 0 }
            defer { close(fd) }
            let count = read(fd, space.baseAddress, space.count)
            guard count > 0 else { return 0 }
            // "size resident shared ...": the second field, in pages.
            var index = 0
            while index < count && space[index] != UInt8(ascii: " ") { index += 1 }
            index += 1
            var pages = 0
            while index < count, space[index] >= UInt8(ascii: "0"), space[index] <= UInt8(ascii: "9") {
                pages = pages * 10 + Int(space[index] - UInt8(ascii: "0"))
                index += 1
            }
            return pages * pageSize
        }
    }
}
