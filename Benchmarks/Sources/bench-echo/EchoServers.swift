import NIOCore
import NIOPosix
import WorkermanEventLoop
import WorkermanTransport

#if canImport(Glibc)
import Glibc
#endif

/// Our echo server: a `TCPServer` with no codec, each read sent straight back, on one loop.
func runOurEchoServer(port: Int) throws {
    let loop = try EventLoop()
    let server = try TCPServer<RawCodec>(loop: loop, address: "tcp://127.0.0.1:\(port)")
    server.onMessage = { connection, bytes in connection.send(bytes) }
    try server.start()
    announce(port: server.listener!.address.port)
    try loop.watchSignal(SIGINT) { _ in loop.stop() }
    try loop.watchSignal(SIGTERM) { _ in loop.stop() }
    try loop.run(.untilStopped)
}

/// SwiftNIO's echo server with one event loop, as its own examples write it.
func runNIOEchoServer(port: Int) throws {
    let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
    let channel = try ServerBootstrap(group: group)
        .serverChannelOption(.backlog, value: 1024)
        .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
        .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
        .childChannelInitializer { channel in
            channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(EchoHandler()) }
        }
        .bind(host: "127.0.0.1", port: port)
        .wait()
    announce(port: channel.localAddress?.port ?? 0)
    // Block until SIGINT/SIGTERM, which the driver sends.
    var signals = sigset_t()
    sigemptyset(&signals)
    sigaddset(&signals, SIGINT)
    sigaddset(&signals, SIGTERM)
    pthread_sigmask(SIG_BLOCK, &signals, nil)
    var received: CInt = 0
    sigwait(&signals, &received)
    try channel.close().wait()
    try group.syncShutdownGracefully()
}

private final class EchoHandler: ChannelInboundHandler, Sendable {
    typealias InboundIn = NIOCore.ByteBuffer
    typealias OutboundOut = NIOCore.ByteBuffer

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        context.write(data, promise: nil)
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        context.flush()
    }
}

/// Tells the driver which port the server bound, on one stdout line.
func announce(port: Int) {
    var line = Array("port \(port)\n".utf8)
    _ = line.withUnsafeMutableBytes { write(1, $0.baseAddress, $0.count) }
}
