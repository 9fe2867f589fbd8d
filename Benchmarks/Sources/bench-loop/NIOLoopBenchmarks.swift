#if canImport(Glibc)
import Glibc
#endif
import BenchSupport
import NIOCore
import NIOPosix

/// The same benchmarks on SwiftNIO's `SelectableEventLoop` (a `MultiThreadedEventLoopGroup` of one
/// thread). Work that NIO requires on its loop thread is started there with `execute`/`submit`; the
/// calling thread waits on a future.
final class NIOLoopBenchmarks: Sendable {
    let eventLoop: any EventLoop

    init(eventLoop: any EventLoop) { self.eventLoop = eventLoop }

    /// Completes `promise` with the progress at the deadline unless the benchmark finished first. Call on
    /// the loop thread.
    private func watchdog(
        _ deadline: Deadline,
        _ progress: LoopProgress,
        _ promise: EventLoopPromise<Sample>
    ) -> Scheduled<Void> {
        eventLoop.scheduleTask(in: .nanoseconds(Int64(deadline.secondsLeft * 1e9))) {
            if progress.finish() { promise.succeed(progress.sample) }
        }
    }

    /// `scheduleTask(in:)` `count` one-shot tasks due within 0–4 ms from the loop thread, then lets the loop
    /// run until all have fired.
    func timerFire(count: Int, deadline: Deadline) throws -> Sample {
        let eventLoop = self.eventLoop
        let progress = LoopProgress(count: count)
        let promise = eventLoop.makePromise(of: Sample.self)
        eventLoop.execute {
            progress.start = BenchClock.now()
            var scheduled = 0
            while scheduled < count {
                if scheduled & 4095 == 0 && deadline.hasPassed { break }
                eventLoop.scheduleTask(in: .microseconds(Int64(spreadMicroseconds(scheduled)))) {
                    progress.done += 1
                    if progress.done == progress.count && progress.finish() { promise.succeed(progress.sample) }
                }
                scheduled += 1
            }
            let guardTask = self.watchdog(deadline, progress, promise)
            promise.futureResult.whenComplete { _ in guardTask.cancel() }
        }
        return try promise.futureResult.wait()
    }

    /// `scheduleTask(in:)` (due in 1–5 ms) and `cancel()` at once, `count` times, on the loop thread.
    func timerCancel(count: Int, deadline: Deadline) throws -> Sample {
        let eventLoop = self.eventLoop
        return try eventLoop.submit { () -> Sample in
            let progress = LoopProgress(count: count)
            progress.start = BenchClock.now()
            while progress.done < count {
                if progress.done & 4095 == 0 && deadline.hasPassed { break }
                let scheduled = eventLoop.scheduleTask(in: .microseconds(Int64(1000 + spreadMicroseconds(progress.done)))) {
                    progress.done += 1  // never runs: the task is cancelled
                }
                scheduled.cancel()
                progress.done += 1
            }
            _ = progress.finish()
            return progress.sample
        }.wait()
    }

    /// `producers` threads call `eventLoop.execute` `count` times in all; timed from just before the first
    /// producer starts until the loop has run the last task.
    func crossThread(count: Int, deadline: Deadline, producers: Int) throws -> Sample {
        let eventLoop = self.eventLoop
        let progress = LoopProgress(count: count)
        let promise = eventLoop.makePromise(of: Sample.self)
        let guardTask = try eventLoop.submit { self.watchdog(deadline, progress, promise) }.wait()
        let start = BenchClock.now()
        let threads = producerShares(count: count, producers: producers).map { share in
            BenchThread {
                var sent = 0
                while sent < share {
                    if sent & 4095 == 0 && deadline.hasPassed { break }
                    eventLoop.execute {
                        progress.done += 1
                        if progress.done == progress.count && progress.finish() { promise.succeed(progress.sample) }
                    }
                    sent += 1
                }
            }
        }
        var sample = try promise.futureResult.wait()
        for thread in threads { thread.join() }
        guardTask.cancel()
        try eventLoop.submit {}.wait()  // run what an incomplete run left queued
        sample.nanoseconds = progress.end > start ? progress.end - start : 1
        return sample
    }

    /// One byte bounced between two `Channel`s made from the ends of a socketpair
    /// (`ClientBootstrap.withConnectedSocket`), each with a handler that writes what it reads back.
    /// `count` reads (readiness events) in all.
    func pingPong(count: Int, deadline: Deadline) throws -> Sample {
        let eventLoop = self.eventLoop
        let progress = LoopProgress(count: count)
        let promise = eventLoop.makePromise(of: Sample.self)
        let (left, right) = try makeSocketPair()
        let bootstrap = ClientBootstrap(group: eventLoop).channelInitializer { channel in
            channel.eventLoop.makeCompletedFuture {
                try channel.pipeline.syncOperations.addHandler(Bouncer(progress: progress, promise: promise))
            }
        }
        let leftChannel: any Channel
        do {
            leftChannel = try bootstrap.withConnectedSocket(left).wait()
        } catch {
            close(left)
            close(right)
            throw error
        }
        let rightChannel: any Channel
        do {
            rightChannel = try bootstrap.withConnectedSocket(right).wait()
        } catch {
            close(right)
            try? leftChannel.close().wait()
            throw error
        }
        eventLoop.execute {
            let guardTask = self.watchdog(deadline, progress, promise)
            promise.futureResult.whenComplete { _ in guardTask.cancel() }
            progress.start = BenchClock.now()
            var buffer = leftChannel.allocator.buffer(capacity: 1)
            buffer.writeInteger(UInt8(1))
            leftChannel.writeAndFlush(buffer, promise: nil)
        }
        let sample = try promise.futureResult.wait()
        leftChannel.close(promise: nil)
        rightChannel.close(promise: nil)
        try leftChannel.closeFuture.wait()
        try rightChannel.closeFuture.wait()
        return sample
    }
}

/// Writes back every buffer it reads, until the shared count is reached.
private final class Bouncer: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let progress: LoopProgress
    private let promise: EventLoopPromise<Sample>

    init(progress: LoopProgress, promise: EventLoopPromise<Sample>) {
        self.progress = progress
        self.promise = promise
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        progress.done += 1
        if progress.done >= progress.count {
            if progress.finish() { promise.succeed(progress.sample) }
            return
        }
        context.writeAndFlush(data, promise: nil)
    }
}
