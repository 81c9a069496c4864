import HTTPTypes
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTPTypes
import NIOSSL
import NIOTLS

/// How long a connection may take over each step before it is closed (`limits.*TimeoutSeconds`,
/// `limits.minBodyBytesPerSecond`), so that a socket that sends nothing, or sends it a byte at a time, cannot hold a
/// place for ever.
public struct ConnectionTimeouts: Sendable, Equatable {
    /// The TLS handshake, from the connection's start.
    public var handshake: TimeAmount
    /// The first request's head, from the end of the handshake (or from the start, in plain HTTP).
    public var requestHead: TimeAmount
    /// Between the end of one response and the head of the next request (keep-alive).
    public var idle: TimeAmount
    /// A request body must arrive at least this fast on average, measured from its head once `bodyGrace` has passed.
    public var minimumBodyBytesPerSecond: Int
    /// How long a body may be slower than the minimum at its start.
    public var bodyGrace: TimeAmount

    public init(
        handshake: TimeAmount = .seconds(10), requestHead: TimeAmount = .seconds(10), idle: TimeAmount = .seconds(60),
        minimumBodyBytesPerSecond: Int = 10_240, bodyGrace: TimeAmount = .seconds(5)
    ) {
        self.handshake = handshake
        self.requestHead = requestHead
        self.idle = idle
        self.minimumBodyBytesPerSecond = minimumBodyBytesPerSecond
        self.bodyGrace = bodyGrace
    }
}

/// The open connections of one listener and their budgets: a `ConnectionTable` behind a lock, and the channels it
/// closes when it makes room. Shared by every connection's `ConnectionGuard`.
public final class ConnectionBudget: Sendable {
    struct State {
        var table: ConnectionTable
        var channels: [Int: any Channel] = [:]
        var nextId = 0
    }

    private let state: NIOLockedValueBox<State>
    public let timeouts: ConnectionTimeouts
    let identify: @Sendable (NIOSSLCertificate) -> String?
    let count: @Sendable (_ reason: String) -> Void
    let logger: Logger

    /// Creates the budget; `identify` names the node a client certificate is pinned for, `count` is told why each
    /// connection was closed early (for /metrics).
    public init(
        limits: ConnectionTable.Limits, timeouts: ConnectionTimeouts, logger: Logger,
        identify: @escaping @Sendable (NIOSSLCertificate) -> String?, count: @escaping @Sendable (String) -> Void
    ) {
        self.state = NIOLockedValueBox(State(table: ConnectionTable(limits: limits)))
        self.timeouts = timeouts
        self.identify = identify
        self.count = count
        self.logger = logger
    }

    /// A new handler for one connection (Hummingbird's `additionalChannelHandlers`).
    public func handler() -> ConnectionGuard { ConnectionGuard(budget: self) }

    /// Open connections: anonymous, and per identified peer.
    public var counts: (anonymous: Int, peers: [String: Int]) { state.withLockedValue { $0.table.counts } }

    func open(_ channel: any Channel) -> (id: Int, admitted: Bool) {
        let address = channel.remoteAddress?.ipAddress ?? "unknown"
        let now = channel.eventLoop.now.uptimeNanoseconds
        let (id, admission, victims) = state.withLockedValue { state -> (Int, ConnectionTable.Admission, [any Channel]) in
            state.nextId += 1
            let id = state.nextId
            let admission = state.table.open(id, address: address, now: now)
            var victims: [any Channel] = []
            if case .admitted(let evicting) = admission {
                state.channels[id] = channel
                victims = evicting.compactMap { state.channels.removeValue(forKey: $0) }
            }
            return (id, admission, victims)
        }
        return (id, settle(admission, victims: victims, address: address))
    }

    func identified(_ id: Int, as peer: String, at deadline: NIODeadline) -> (admitted: Bool, reason: String) {
        let now = deadline.uptimeNanoseconds
        let (admission, victims) = state.withLockedValue { state -> (ConnectionTable.Admission, [any Channel]) in
            let admission = state.table.identify(id, peer: peer, now: now)
            switch admission {
            case .admitted(let evicting): return (admission, evicting.compactMap { state.channels.removeValue(forKey: $0) })
            case .refused: break  // it stays in the table, as anonymous, until it closes
            }
            return (admission, [])
        }
        let admitted = settle(admission, victims: victims, address: peer)
        if case .refused(let reason) = admission { return (admitted, reason) }
        return (admitted, "")
    }

    private func settle(_ admission: ConnectionTable.Admission, victims: [any Channel], address: String) -> Bool {
        for victim in victims {
            count("evicted")
            victim.close(promise: nil)
        }
        if case .refused(let reason) = admission {
            count("refused")
            logger.notice("connection refused", metadata: ["remote": "\(address)", "reason": "\(reason)"])
            return false
        }
        return true
    }

    func setBusy(_ id: Int, _ busy: Bool, at deadline: NIODeadline) {
        let now = deadline.uptimeNanoseconds
        state.withLockedValue { $0.table.setBusy(id, busy, now: now) }
    }

    func close(_ id: Int) {
        state.withLockedValue {
            $0.table.close(id)
            $0.channels[id] = nil
        }
    }
}

/// One connection's guard, placed after the HTTP codec: takes the connection into the budget when it opens (or
/// closes it when there is no room), moves it to its peer's budget when the TLS handshake shows a pinned
/// certificate, and closes it when the handshake, a request head, a keep-alive pause or a body takes too long.
public final class ConnectionGuard: ChannelDuplexHandler, RemovableChannelHandler {
    public typealias InboundIn = HTTPRequestPart
    public typealias InboundOut = HTTPRequestPart
    public typealias OutboundIn = HTTPResponsePart
    public typealias OutboundOut = HTTPResponsePart

    enum Phase: Equatable {
        case starting, handshake, waitingForHead, readingBody, handling, closed
        /// The answer went out before the request's body was read (a refusal): the rest of the body is read and
        /// dropped here, never buffered for the application, and the connection closes when it ends.
        case discarding
        /// A peer over its connection budget: its first request is answered 503 `peer.too-many-connections` here,
        /// and the connection closes.
        case overBudget(String)
    }

    let budget: ConnectionBudget
    private var id: Int?
    private var phase = Phase.starting
    private var timer: Scheduled<Void>?
    private var bodyStarted = NIODeadline.uptimeNanoseconds(0)
    private var bodyBytes = 0
    /// A peer over its budget: nothing of this connection reaches the application.
    private var refusedPeer = false

    init(budget: ConnectionBudget) { self.budget = budget }

    public func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { start(context) }
    }

    public func channelActive(context: ChannelHandlerContext) {
        start(context)
        context.fireChannelActive()
    }

    public func channelInactive(context: ChannelHandlerContext) {
        finish()
        context.fireChannelInactive()
    }

    public func handlerRemoved(context: ChannelHandlerContext) { finish() }

    private func start(_ context: ChannelHandlerContext) {
        guard phase == .starting else { return }
        let (id, admitted) = budget.open(context.channel)
        self.id = id
        guard admitted else {
            phase = .closed
            budget.close(id)
            context.close(promise: nil)
            return
        }
        let tls = (try? context.pipeline.syncOperations.handler(type: NIOSSLHandler.self)) != nil
        if tls {
            enter(.handshake, context, after: budget.timeouts.handshake, reason: "handshake-timeout")
        } else {
            enter(.waitingForHead, context, after: budget.timeouts.requestHead, reason: "head-timeout")
        }
    }

    /// Takes the connection out of the budget (once).
    private func release() {
        if let id { budget.close(id) }
        id = nil
    }

    private func finish() {
        timer?.cancel()
        timer = nil
        release()
        phase = .closed
    }

    /// Moves to `phase`, closing the connection for `reason` unless it moves on within `timeout`.
    private func enter(_ next: Phase, _ context: ChannelHandlerContext, after timeout: TimeAmount?, reason: String) {
        phase = next
        timer?.cancel()
        timer = nil
        guard let timeout else { return }
        timer = context.eventLoop.assumeIsolated().scheduleTask(in: timeout) { [self] in
            self.timer = nil
            guard self.phase == next else { return }
            self.cut(context, reason: reason)
        }
    }

    private func cut(_ context: ChannelHandlerContext, reason: String) {
        budget.count(reason)
        budget.logger.debug(
            "connection closed", metadata: ["remote": "\(context.channel.remoteAddress?.ipAddress ?? "?")", "reason": "\(reason)"])
        context.close(promise: nil)
    }

    public func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case TLSUserEvent.handshakeCompleted = event, phase == .handshake, let id {
            if let certificate = try? context.pipeline.syncOperations.nioSSL_peerCertificate(),
                let peer = budget.identify(certificate)
            {
                let (admitted, reason) = budget.identified(id, as: peer, at: context.eventLoop.now)
                if !admitted {
                    refusedPeer = true
                    enter(.overBudget(reason), context, after: budget.timeouts.requestHead, reason: "head-timeout")
                    context.fireUserInboundEventTriggered(event)
                    return
                }
            }
            enter(.waitingForHead, context, after: budget.timeouts.requestHead, reason: "head-timeout")
        }
        context.fireUserInboundEventTriggered(event)
    }

    public func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if case .overBudget(let reason) = phase {
            if case .head = unwrapInboundIn(data) { refuse(context, reason: reason) }
            return  // nothing of this connection reaches the application
        }
        if case .discarding = phase, refusedPeer {  // a refused peer's connection: its end closes it, unseen
            if case .end = unwrapInboundIn(data) { finishDiscarding(context, forward: nil) }
            return
        }
        switch unwrapInboundIn(data) {
        case .head where phase == .readingBody || phase == .handling || phase == .discarding:
            // HTTP pipelining: a request before the previous answer. No client of xgate does it, and the phases
            // here follow one request at a time, so the connection is closed (the earlier request's answer is lost).
            cut(context, reason: "pipelined")
            return
        case .head:
            if phase == .waitingForHead || phase == .handshake, let id {
                budget.setBusy(id, true, at: context.eventLoop.now)
                bodyStarted = context.eventLoop.now
                bodyBytes = 0
                enter(.readingBody, context, after: nil, reason: "")
                scheduleRateCheck(context)
            }
        case .body(let buffer):
            bodyBytes += buffer.readableBytes
            if phase == .discarding { return }
        case .end:
            if phase == .readingBody { enter(.handling, context, after: nil, reason: "") }
            if phase == .discarding {
                finishDiscarding(context, forward: data)
                return
            }
        }
        context.fireChannelRead(data)
    }

    /// While a body is dropped, the guard reads on by itself: the application may have stopped reading (it answered
    /// and waits for the connection to close), and the sender must be able to finish sending before it reads the
    /// answer.
    public func channelReadComplete(context: ChannelHandlerContext) {
        context.fireChannelReadComplete()
        if phase == .discarding { context.read() }
    }

    public func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        switch unwrapOutboundIn(data) {
        case .head(var head) where phase == .readingBody:
            // An answer before the body was read: the client is told the connection ends with it.
            head.headerFields[.connection] = "close"
            context.write(wrapOutboundOut(.head(head)), promise: promise)
            return
        case .end where phase == .readingBody:
            if let id { budget.setBusy(id, false, at: context.eventLoop.now) }
            phase = .discarding  // the rate check goes on: a refused body must still arrive, or be cut
            context.read()
        case .end where phase == .handling:
            if let id { budget.setBusy(id, false, at: context.eventLoop.now) }
            enter(.waitingForHead, context, after: nil, reason: "")
            // The keep-alive deadline runs from when the answer has gone out, not from when it was handed over (a
            // large feed page to a slow peer takes its time).
            let written = promise ?? context.eventLoop.makePromise()
            written.futureResult.assumeIsolated().whenSuccess { [self] in
                guard self.phase == .waitingForHead, self.timer == nil else { return }
                self.enter(.waitingForHead, context, after: self.budget.timeouts.idle, reason: "idle-timeout")
            }
            context.write(data, promise: written)
            return
        default:
            break
        }
        context.write(data, promise: promise)
    }

    /// The dropped body has ended: the application sees its end (if it saw its head), and the connection closes.
    private func finishDiscarding(_ context: ChannelHandlerContext, forward data: NIOAny?) {
        phase = .closed
        timer?.cancel()
        timer = nil
        release()
        if let data { context.fireChannelRead(data) }
        context.close(promise: nil)
    }

    /// Answers 503 `peer.too-many-connections` (retryable): the peer is told, not just cut off. The rest of the
    /// request is dropped as it arrives (at the minimum body rate, or cut) and the connection closes at its end —
    /// closing at once would leave TLS waiting for the sender's close_notify while it still sends its body.
    private func refuse(_ context: ChannelHandlerContext, reason: String) {
        phase = .discarding
        bodyStarted = context.eventLoop.now
        bodyBytes = 0
        timer?.cancel()
        timer = nil
        scheduleRateCheck(context)
        context.read()
        let problem = Problem(.serviceUnavailable, code: "peer.too-many-connections", detail: reason, retryable: true)
        let body = problem.json.serialized()
        let head = HTTPResponse(
            status: .serviceUnavailable,
            headerFields: [
                .contentType: "application/problem+json", .retryAfter: "1", .connection: "close", .contentLength: "\(body.count)",
            ])
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        context.write(wrapOutboundOut(.body(context.channel.allocator.buffer(bytes: body))), promise: nil)
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
    }

    /// Once a second while a body arrives: cut it when, past the grace, it averages less than the minimum rate.
    private func scheduleRateCheck(_ context: ChannelHandlerContext) {
        let minimum = budget.timeouts.minimumBodyBytesPerSecond
        guard minimum > 0 else { return }
        timer = context.eventLoop.assumeIsolated().scheduleTask(in: .seconds(1)) { [self] in
            self.timer = nil
            guard self.phase == .readingBody || self.phase == .discarding else { return }
            let elapsed = context.eventLoop.now - self.bodyStarted
            if elapsed >= self.budget.timeouts.bodyGrace,
                Double(self.bodyBytes) < Double(minimum) * Double(elapsed.nanoseconds) / 1e9
            {
                self.cut(context, reason: "slow-body")
            } else {
                self.scheduleRateCheck(context)
            }
        }
    }
}
