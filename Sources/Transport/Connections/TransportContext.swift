import WorkermanEventLoop

#if canImport(Glibc)
import Glibc
#endif

/// The transport's per-loop (so per-process) state: statistics, the one read buffer every connection
/// reads into, scratch space for encoding and `writev`, connection ids, and the
/// registry of live connections that `connections` lists. Not a global: one per event loop.
///
/// Ownership: the loop owns its context (it sits in `loop.attachments`, where `of(_:)` puts it); the
/// context refers to its loop `unowned`, never owning it, so a dropped loop frees its context with it,
/// where a strong reference each way would keep both alive for ever. `loop.close()` makes the context let
/// go of the client connections it holds (whose callbacks may hold the loop) and of the servers'
/// listings; a client still open then keeps its socket (the loop closes no descriptor it did not open)
/// until the program closes it. Whatever else holds a context (a server, a connection) holds the loop
/// strongly as well, so `loop` cannot dangle for them; code that keeps only a context must keep its loop.
public final class TransportContext: LoopAttachment {
    /// Unowned: the loop owns the context (see the type's comment). Read once per connection, at its
    /// start, never per read or write, so the unowned reference's check costs nothing on a hot path.
    public unowned let loop: EventLoop
    /// The counters `status` shows. They live behind a pointer so the process layer can move them into
    /// the shared-memory status board, where `status` reads them live.
    public var statistics: TransportStatistics {
        _read { yield statisticsRecord.pointee }
        _modify { yield &statisticsRecord.pointee }
    }
    @exclusivity(unchecked) private var statisticsRecord: UnsafeMutablePointer<TransportStatistics>
    private var ownsStatisticsRecord = true

    /// Bytes one read asks for (Workerman reads 65535; 64 KiB here).
    static let readSize = 65536
    let readBuffer: UnsafeMutableRawPointer
    /// Reused for `send` encoding; taken and given back so it is never accessed twice at once.
    @exclusivity(unchecked) @usableFromInline var encodeScratch = ByteBuffer(capacity: 4096)  // swapped on every send
    /// Answers written while a connection processes one read, sent in one write when it is done (see
    /// `Connection.isCorked`). One buffer serves the whole loop: one connection processes at a time.
    @exclusivity(unchecked) var cork = ByteBuffer(capacity: 16 * 1024)
    /// A send bigger than what the cork may still take goes out at once, after what is corked.
    static let corkCapacity = 32 * 1024
    let iovecs: UnsafeMutablePointer<iovec>
    static let iovecCapacity = 64

    private var nextConnectionID = 1
    /// The async handler tasks in flight on this loop.
    public private(set) lazy var tasks = TaskTracker(context: self)
    /// Servers register here to have their connections listed by `connections`.
    private var sources: [ObjectIdentifier: () -> [Connection]] = [:]
    /// Client connections from `connect()` until they close for good: held here, as Workerman's static
    /// connection map holds them, so a client the program does not keep a reference to still runs.
    private var clients: [Int: Connection] = [:]

    private init(loop: EventLoop) {
        self.loop = loop
        readBuffer = .allocate(byteCount: Self.readSize, alignment: 16)
        iovecs = .allocate(capacity: Self.iovecCapacity)
        statisticsRecord = .allocate(capacity: 1)
        statisticsRecord.initialize(to: TransportStatistics())
        SocketCalls.ignoreBrokenPipe()
    }

    deinit {
        readBuffer.deallocate()
        iovecs.deallocate()
        if ownsStatisticsRecord { statisticsRecord.deallocate() }
    }

    /// Moves the counters to `record` (shared memory), keeping their values. The caller keeps `record`
    /// alive as long as this context.
    package func bindStatistics(to record: UnsafeMutablePointer<TransportStatistics>) {
        record.pointee = statisticsRecord.pointee
        if ownsStatisticsRecord { statisticsRecord.deallocate() }
        statisticsRecord = record
        ownsStatisticsRecord = false
    }

    /// The context of `loop`, made on first use.
    public static func of(_ loop: EventLoop) -> TransportContext {
        let key = ObjectIdentifier(TransportContext.self)
        if let context = loop.attachments[key] as? TransportContext { return context }
        let context = TransportContext(loop: loop)
        loop.attachments[key] = context
        return context
    }

    /// A per-process connection id, as Workerman's (starting at 1, shared by server and client connections).
    func takeConnectionID() -> Int {
        defer { nextConnectionID = nextConnectionID == Int.max ? 1 : nextConnectionID + 1 }
        return nextConnectionID
    }

    func registerSource(_ owner: AnyObject, _ list: @escaping () -> [Connection]) {
        sources[ObjectIdentifier(owner)] = list
    }

    func unregisterSource(_ owner: AnyObject) {
        sources[ObjectIdentifier(owner)] = nil
    }

    func retainClient(_ connection: Connection) { clients[connection.id] = connection }
    func releaseClient(_ connection: Connection) { clients[connection.id] = nil }

    /// The loop closed: nothing can run for these connections any more.
    package func loopDidClose() {
        clients.removeAll()
        sources.removeAll()
    }

    /// Every live connection of this loop, for the `connections` command.
    public var liveConnections: [Connection] {
        (sources.values.flatMap { $0() } + clients.values.filter { $0.fd >= 0 }).sorted { $0.id < $1.id }
    }

    /// One row per live connection: what `connections` prints.
    public var connectionListing: [ConnectionInfo] { liveConnections.map(\.info) }
}

/// A snapshot of one connection, for the `connections` command.
public struct ConnectionInfo: Hashable, Sendable {
    public var id: Int
    public var transport: TransportKind
    public var codec: String
    /// What secures the connection (`TLSv1.3 TLS_AES_128_GCM_SHA256`); "" for a plain one.
    public var security: String = ""
    public var localAddress: String
    public var remoteAddress: String
    /// Bytes received and not yet processed.
    public var receiveQueue: Int
    /// Bytes queued for sending.
    public var sendQueue: Int
    public var bytesRead: Int
    public var bytesWritten: Int
    public var status: ConnectionStatus
}
