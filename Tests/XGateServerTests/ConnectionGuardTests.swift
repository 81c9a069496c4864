import HTTPTypes
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOEmbedded
import NIOHTTPTypes
import Testing
import XGateServer

/// One connection's guard on an embedded channel, with time driven by hand: each deadline closes the connection for
/// its own reason, and an answer before the body was read closes it after dropping the rest of the body.
struct ConnectionGuardTests {
    let reasons = NIOLockedValueBox<[String]>([])
    let timeouts = ConnectionTimeouts(
        handshake: .seconds(10), requestHead: .seconds(10), idle: .seconds(60), minimumBodyBytesPerSecond: 1000, bodyGrace: .seconds(5))

    func budget(_ limits: ConnectionTable.Limits = .init()) -> ConnectionBudget {
        let reasons = self.reasons
        return ConnectionBudget(
            limits: limits, timeouts: timeouts, logger: Logger(label: "test"), identify: { _ in nil },
            count: { reason in reasons.withLockedValue { $0.append(reason) } })
    }

    func connected(_ budget: ConnectionBudget, from address: String = "10.1.2.3") throws -> EmbeddedChannel {
        let channel = EmbeddedChannel(handler: budget.handler(), loop: EmbeddedEventLoop())
        try channel.connect(to: SocketAddress(ipAddress: address, port: 40_000)).wait()
        return channel
    }

    func request(_ method: HTTPRequest.Method = .post) -> HTTPRequestPart {
        .head(HTTPRequest(method: method, scheme: "https", authority: "sh-city", path: "/v1/batches"))
    }

    @Test func aConnectionThatSendsNoRequestIsClosedAtTheHeadDeadline() throws {
        let channel = try connected(budget())
        channel.embeddedEventLoop.advanceTime(by: .seconds(9))
        #expect(channel.isActive)
        channel.embeddedEventLoop.advanceTime(by: .seconds(2))
        #expect(!channel.isActive)
        #expect(reasons.withLockedValue { $0 } == ["head-timeout"])
    }

    @Test func aKeepAliveConnectionIsClosedAtTheIdleDeadlineAfterItsAnswer() throws {
        let channel = try connected(budget())
        try channel.writeInbound(request(.get))
        try channel.writeInbound(HTTPRequestPart.end(nil))
        channel.embeddedEventLoop.advanceTime(by: .seconds(30))  // the server takes its time: no deadline runs
        #expect(channel.isActive)
        try channel.writeOutbound(HTTPResponsePart.head(HTTPResponse(status: .ok)))
        try channel.writeOutbound(HTTPResponsePart.end(nil))
        channel.embeddedEventLoop.advanceTime(by: .seconds(59))
        #expect(channel.isActive)
        channel.embeddedEventLoop.advanceTime(by: .seconds(2))
        #expect(!channel.isActive)
        #expect(reasons.withLockedValue { $0 } == ["idle-timeout"])
    }

    @Test func aTrickledBodyIsCutOnceItsGraceHasPassed() throws {
        let channel = try connected(budget())
        try channel.writeInbound(request())
        for _ in 0..<4 {  // 4 × 1000 bytes in 4 s: on time
            try channel.writeInbound(HTTPRequestPart.body(ByteBuffer(repeating: 0x20, count: 1000)))
            channel.embeddedEventLoop.advanceTime(by: .seconds(1))
        }
        #expect(channel.isActive)
        for _ in 0..<3 {  // then 10 bytes a second: the average falls under 1000 B/s past the 5 s grace
            try channel.writeInbound(HTTPRequestPart.body(ByteBuffer(repeating: 0x20, count: 10)))
            channel.embeddedEventLoop.advanceTime(by: .seconds(1))
        }
        #expect(!channel.isActive)
        #expect(reasons.withLockedValue { $0 } == ["slow-body"])
    }

    @Test func anAnswerBeforeTheBodyClosesTheConnectionAndDropsTheRest() throws {
        let budget = budget()
        let channel = try connected(budget)
        try channel.writeInbound(request())
        try channel.writeInbound(HTTPRequestPart.body(ByteBuffer(repeating: 0x7B, count: 100)))
        #expect(try channel.readInbound(as: HTTPRequestPart.self) != nil)  // the head reached the application
        #expect(try channel.readInbound(as: HTTPRequestPart.self) != nil)  // and the first part of the body
        try channel.writeOutbound(HTTPResponsePart.head(HTTPResponse(status: .serviceUnavailable)))
        guard case .head(let head) = try channel.readOutbound(as: HTTPResponsePart.self) else {
            Issue.record("no response head written")
            return
        }
        #expect(head.headerFields[.connection] == "close")
        try channel.writeOutbound(HTTPResponsePart.end(nil))
        try channel.writeInbound(HTTPRequestPart.body(ByteBuffer(repeating: 0x7B, count: 1_000_000)))
        #expect(try channel.readInbound(as: HTTPRequestPart.self) == nil, "the rest of a refused body reached the application")
        #expect(channel.isActive)
        try channel.writeInbound(HTTPRequestPart.end(nil))
        #expect(!channel.isActive)
        #expect(budget.counts.anonymous == 0, "the closed connection is still counted")
    }

    @Test func aPipelinedRequestClosesTheConnection() throws {
        let channel = try connected(budget())
        try channel.writeInbound(request(.get))
        try channel.writeInbound(HTTPRequestPart.end(nil))
        try channel.writeInbound(request(.get))  // before the first answer
        #expect(!channel.isActive)
        #expect(reasons.withLockedValue { $0 } == ["pipelined"])
    }

    @Test func whileABodyIsDroppedTheGuardAsksForMoreItself() throws {
        let channel = try connected(budget())
        let reads = ReadCounter()
        try channel.pipeline.addHandler(reads, position: .first).wait()
        try channel.writeInbound(request())
        try channel.writeOutbound(HTTPResponsePart.head(HTTPResponse(status: .serviceUnavailable)))
        try channel.writeOutbound(HTTPResponsePart.end(nil))
        let before = reads.count.withLockedValue { $0 }
        #expect(before >= 1, "entering the drop asked for nothing")
        channel.pipeline.fireChannelReadComplete()  // the application above asks for nothing; the guard does
        #expect(reads.count.withLockedValue { $0 } == before + 1)
    }

    @Test func aNewcomerPushesOutTheAnonymousConnectionIdleTheLongest() throws {
        let budget = budget(.init(anonymous: 2, perAddress: 2, perPeer: 2))
        let first = try connected(budget, from: "10.0.0.1")
        let second = try connected(budget, from: "10.0.0.2")
        try second.writeInbound(request(.get))  // busy with a request
        let third = try connected(budget, from: "10.0.0.3")
        #expect(!first.isActive && second.isActive && third.isActive)
        let fourth = try connected(budget, from: "10.0.0.4")  // the third is the only idle one now
        #expect(second.isActive && !third.isActive && fourth.isActive)
        #expect(budget.counts.anonymous == 2)
        #expect(reasons.withLockedValue { $0 } == ["evicted", "evicted"])
    }
}

/// Counts the reads asked for (outbound `read` events reaching the front of the pipeline).
final class ReadCounter: ChannelOutboundHandler, @unchecked Sendable {
    typealias OutboundIn = Any
    let count = NIOLockedValueBox(0)
    func read(context: ChannelHandlerContext) {
        count.withLockedValue { $0 += 1 }
        context.read()
    }
}
