import NIOCore
import NIOEmbedded
import Synchronization
import Testing
@testable import PGProxy

/// The byte copier between a client and its postgres, on two embedded channels sharing one loop:
/// what it copies and counts, how closes cross over, and its backpressure.
@Suite struct GlueHandlerTests {
    final class Counts: Sendable {
        let first = Mutex<[Int]>([])
        let second = Mutex<[Int]>([])
    }

    /// Records the outbound `read` and `close` calls that reach it (it sits between a glue and the head).
    /// An embedded channel cannot half-close, so a close of the output stops here.
    final class OutboundRecorder: ChannelOutboundHandler {
        typealias OutboundIn = ByteBuffer
        var reads = 0
        var closes: [CloseMode] = []

        func read(context: ChannelHandlerContext) {
            reads += 1
            context.read()
        }

        func close(context: ChannelHandlerContext, mode: CloseMode, promise: EventLoopPromise<Void>?) {
            closes.append(mode)
            if mode == .output { promise?.succeed() } else { context.close(mode: mode, promise: promise) }
        }
    }

    struct Spliced {
        let counts = Counts()
        let client: EmbeddedChannel
        let server: EmbeddedChannel
        let clientRecorder = OutboundRecorder()
        let serverRecorder = OutboundRecorder()

        init() {
            let loop = EmbeddedEventLoop()
            let counts = self.counts
            let (first, second) = GlueHandler.matchedPair(
                countFirst: { bytes in counts.first.withLock { $0.append(bytes) } },
                countSecond: { bytes in counts.second.withLock { $0.append(bytes) } })
            client = EmbeddedChannel(handlers: [clientRecorder, first], loop: loop)
            server = EmbeddedChannel(handlers: [serverRecorder, second], loop: loop)
            let address = try! SocketAddress(ipAddress: "127.0.0.1", port: 5432)
            client.connect(to: address, promise: nil)
            server.connect(to: address, promise: nil)
        }

        func finish() {
            _ = try? client.finish(acceptAlreadyClosed: true)
            _ = try? server.finish(acceptAlreadyClosed: true)
        }
    }

    @Test func bytesCrossOverAndAreCounted() throws {
        let glue = Spliced()
        defer { glue.finish() }
        try glue.client.writeInbound(ByteBuffer(string: "SELECT 1"))
        try glue.server.writeInbound(ByteBuffer(string: "row"))
        try glue.server.writeInbound(ByteBuffer(string: "s!"))
        #expect(try glue.server.readOutbound(as: ByteBuffer.self) == ByteBuffer(string: "SELECT 1"))
        #expect(try glue.client.readOutbound(as: ByteBuffer.self) == ByteBuffer(string: "row"))
        #expect(try glue.client.readOutbound(as: ByteBuffer.self) == ByteBuffer(string: "s!"))
        #expect(try glue.client.readInbound(as: ByteBuffer.self) == nil) // copied, not passed up
        #expect(glue.counts.first.withLock { $0 } == [8] && glue.counts.second.withLock { $0 } == [3, 2])
    }

    @Test func writesAreFlushedAtTheEndOfARead() throws {
        let glue = Spliced()
        defer { glue.finish() }
        glue.client.pipeline.fireChannelRead(ByteBuffer(string: "a"))
        glue.client.pipeline.fireChannelRead(ByteBuffer(string: "b"))
        #expect(try glue.server.readOutbound(as: ByteBuffer.self) == nil)
        glue.client.pipeline.fireChannelReadComplete()
        #expect(try glue.server.readOutbound(as: ByteBuffer.self) == ByteBuffer(string: "a"))
        #expect(try glue.server.readOutbound(as: ByteBuffer.self) == ByteBuffer(string: "b"))
    }

    @Test func aHalfCloseIsPassedAcrossAsAHalfClose() {
        let glue = Spliced()
        defer { glue.finish() }
        glue.client.pipeline.fireUserInboundEventTriggered(ChannelEvent.inputClosed)
        #expect(glue.serverRecorder.closes == [.output])
        #expect(glue.clientRecorder.closes.isEmpty)
        glue.client.pipeline.fireUserInboundEventTriggered(ChannelEvent.outputClosed) // not the partner's business
        #expect(glue.serverRecorder.closes == [.output])
    }

    @Test func aClosedSideClosesItsPartner() throws {
        let glue = Spliced()
        defer { glue.finish() }
        #expect(glue.client.isActive)
        _ = try glue.server.finish()
        #expect(glue.clientRecorder.closes == [.all])
        #expect(!glue.client.isActive)
    }

    @Test func anErrorClosesThePartner() {
        let glue = Spliced()
        defer { glue.finish() }
        glue.client.pipeline.fireErrorCaught(ChannelError.connectTimeout(.seconds(1)))
        #expect(glue.serverRecorder.closes.first == .all)
        #expect(!glue.server.isActive && !glue.client.isActive) // and the partner's close closes this side too
    }

    @Test func aSideReadsOnlyWhileItsPartnerCanWrite() {
        let glue = Spliced()
        defer { glue.finish() }
        glue.client.read()
        #expect(glue.clientRecorder.reads == 1)
        glue.server.isWritable = false
        glue.client.read()
        glue.client.read()
        #expect(glue.clientRecorder.reads == 1) // held back
        glue.server.pipeline.fireChannelWritabilityChanged()
        #expect(glue.clientRecorder.reads == 1) // still not writable
        glue.server.isWritable = true
        glue.server.pipeline.fireChannelWritabilityChanged()
        #expect(glue.clientRecorder.reads == 2) // one read for the held-back ones
        glue.server.pipeline.fireChannelWritabilityChanged()
        #expect(glue.clientRecorder.reads == 2)
        #expect(glue.serverRecorder.reads == 0)
    }
}
