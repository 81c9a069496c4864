import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import ServiceLifecycle
import XGateCore
import XGateEngine
import XGateJSON

/// The HTTP API of one node (Contracts/openapi.yaml): peer endpoints under mutual TLS, operator endpoints under the
/// operator token, and health, readiness and metrics.
public struct GatewayAPI: Sendable {
    /// Limits applied to requests.
    public struct Limits: Sendable {
        public var maxBodyBytes: Int
        public var replayWindowSeconds: Int64
        public var maxFeedPage: Int
        /// How long a batch ahead of its predecessor waits for it (a sender's window) before `sequence.gap`.
        public var sequenceWait: Duration
        /// The longest a feed request may wait for a change (`wait`; `limits.maxFeedWaitSeconds`).
        public var maxFeedWait: Int
        public var requestsPerSecond: Double
        public var burst: Double
        /// The memory request bodies may hold at once (`BodyBudget`).
        public var bodyMemoryBytes: Int
        /// Which connections may stay open (`ConnectionTable`).
        public var connections: ConnectionTable.Limits
        /// How long a connection may take over each step.
        public var timeouts: ConnectionTimeouts
        public init(
            maxBodyBytes: Int, replayWindowSeconds: Int64, maxFeedPage: Int, requestsPerSecond: Double, burst: Double,
            bodyMemoryBytes: Int = 128 * 1024 * 1024, connections: ConnectionTable.Limits = .init(),
            timeouts: ConnectionTimeouts = .init(), sequenceWait: Duration = .seconds(5), maxFeedWait: Int = 30
        ) {
            self.sequenceWait = sequenceWait
            self.maxFeedWait = maxFeedWait
            self.maxBodyBytes = maxBodyBytes
            self.bodyMemoryBytes = bodyMemoryBytes
            self.connections = connections
            self.timeouts = timeouts
            self.replayWindowSeconds = replayWindowSeconds
            self.maxFeedPage = maxFeedPage
            self.requestsPerSecond = requestsPerSecond
            self.burst = burst
        }
    }

    public let engine: SyncEngine
    public let access: AccessPolicy
    public let limits: Limits
    public let board: DeliveryBoard
    public let offload: Offload
    /// The peers this node pulls from (shown in the status).
    public let pullFrom: [String]
    /// When the alerts fire.
    public let thresholds: AlertThresholds
    let limiter: RateLimiter
    /// The memory request bodies may hold at once.
    let bodies: BodyBudget
    /// The open connections and their budgets; `connections.handler()` guards each one (the server's pipeline).
    public let connections: ConnectionBudget
    /// Web console sessions.
    let sessions = ConsoleSessions()
    /// Feed pages recorded as served, several in one transaction when they come at once (a correction wakes every
    /// subscriber's long poll).
    let servedPages: GroupWriter<PreparedFeedPage>

    /// Creates the API.
    public init(
        engine: SyncEngine, access: AccessPolicy, limits: Limits, board: DeliveryBoard, offload: Offload, pullFrom: [String],
        thresholds: AlertThresholds = AlertThresholds(), logger: Logger = Logger(label: "xgate")
    ) {
        self.engine = engine
        self.access = access
        self.limits = limits
        self.board = board
        self.offload = offload
        self.pullFrom = pullFrom
        self.thresholds = thresholds
        self.limiter = RateLimiter(rate: limits.requestsPerSecond, burst: limits.burst)
        self.bodies = BodyBudget(total: limits.bodyMemoryBytes)
        self.servedPages = GroupWriter { [engine, offload] pages in try await offload.write { try await engine.recordServed(pages) } }
        self.connections = ConnectionBudget(
            limits: limits.connections, timeouts: limits.timeouts, logger: logger, identify: { [access] in access.node(for: $0) },
            count: { [board] reason in board.count("xgate_connections_closed_total{reason=\"\(reason)\"}") })
    }

    /// The router with every route.
    public func router() -> Router<GatewayContext> {
        let router = Router(context: GatewayContext.self)
        router.add(middleware: RequestMetricsMiddleware(board: board))
        router.add(middleware: ErrorBoundaryMiddleware())
        router.get("healthz") { _, _ in json(["status": "ok", "node": .string(engine.node.id)]) }
        router.get("readyz") { _, _ in
            guard board.isReady else {
                throw Problem(.serviceUnavailable, code: "node.starting", detail: "the node is starting", retryable: true)
            }
            return json(["status": "ready", "node": .string(engine.node.id)])
        }
        router.get("metrics") { _, _ in try await metrics() }

        let peers = router.group("v1").add(middleware: PeerAuthenticationMiddleware(access: access, limiter: limiter))
        peers.post("batches") { request, context in try await receiveBatch(request, context: context) }
        peers.get("feed") { request, context in try await serveFeed(request, context: context, snapshot: false) }
        peers.get("feed/snapshot") { request, context in try await serveFeed(request, context: context, snapshot: true) }
        peers.post("acknowledgements") { request, context in try await receiveAcknowledgement(request, context: context) }

        let operators = router.group("v1/operator").add(middleware: OperatorAuthenticationMiddleware(access: access, limiter: limiter))
        addOperatorRoutes(to: operators)
        addConsoleRoutes(to: router)
        return router
    }

    // MARK: Peer endpoints

    /// POST /v1/batches: a signed batch in, the signed receipt out (the same receipt, byte for byte, for a batch seen
    /// before). The batch must be signed by the node whose certificate made the connection.
    func receiveBatch(_ request: Request, context: GatewayContext) async throws -> Response {
        do {
            return try await receive(request, context: context)
        } catch let problem as Problem {
            board.count("xgate_batches_refused_total{peer=\"\(context.peer ?? "")\",code=\"\(problem.code)\"}")
            throw problem
        }
    }

    func receive(_ request: Request, context: GatewayContext) async throws -> Response {
        let peer = context.peer ?? ""
        try requireContentType(request, ["application/jose+json"])
        let started = ContinuousClock.now
        return try await withBody(request, caller: peer) { body in try await receive(body, from: peer, context: context, started: started) }
    }

    func receive(_ body: [UInt8], from peer: String, context: GatewayContext, started: ContinuousClock.Instant) async throws -> Response {
        let engine = self.engine
        let received = ContinuousClock.now
        let prepared = try await engineCall { try await offload.run { try engine.prepare(body) } }
        let preparedAt = ContinuousClock.now
        guard prepared.sender == peer else {
            throw Problem(
                .forbidden, code: "peer.certificate-mismatch",
                detail: "the batch is signed by \(prepared.sender) but the connection's certificate is \(peer)'s")
        }
        let now = engine.clock.now()
        if abs(now.seconds - prepared.createdAt.seconds) > limits.replayWindowSeconds {
            // A batch already answered still gets its receipt (a resend after a long outage); only new ones are refused.
            let seen = try await offload.read { try await engine.store.read { try await $0.inboxEntry(sender: peer, batchId: prepared.batchId) } }
            if let seen { return jose(seen.receipt) }
            throw Problem(
                .unprocessableContent, code: "batch.outside-window",
                detail:
                    "createdAt \(prepared.createdAt.text) is more than \(limits.replayWindowSeconds) s from this node's clock (\(now.text))"
            )
        }
        // A sender with several batches in flight (engine.window) may be overtaken by its own later batch: it waits,
        // bounded, for the earlier ones to be applied, then goes in (applied, or sequence.gap if they never came).
        try await engineCall { try await engine.awaitTurn(of: prepared, patience: limits.sequenceWait, executor: offload) }
        let receipt = try await engineCall { try await offload.write { try await engine.commit(prepared) } }
        context.logger.debug(
            "batch received",
            metadata: [
                "peer": "\(peer)", "batch": "\(prepared.batchId)", "sequence": "\(prepared.sequence)", "changes": "\(prepared.changeCount)",
                "bodyMs": "\(milliseconds(received - started))", "prepareMs": "\(milliseconds(preparedAt - received))",
                "commitMs": "\(milliseconds(ContinuousClock.now - preparedAt))",
            ])
        board.work.signal()  // a relay (the city) has new changes for its peers
        board.count("xgate_batches_in_total{peer=\"\(peer)\",outcome=\"accepted\"}")
        board.count("xgate_records_in_total{peer=\"\(peer)\"}", by: Double(prepared.changeCount))
        return jose(receipt)
    }

    /// GET /v1/feed?cursor=…&limit=…&wait=… and GET /v1/feed/snapshot: a signed page of the caller's feed. With
    /// `wait` (seconds, at most `limits.maxFeedWaitSeconds`), a feed with nothing after the cursor is held until a
    /// change for the caller is stored or the time is up (a long poll: a correction reaches a partner that pulls as soon
    /// as it would reach one pushed to), then served as always — possibly empty.
    func serveFeed(_ request: Request, context: GatewayContext, snapshot: Bool) async throws -> Response {
        let peer = context.peer ?? ""
        let cursor = request.uri.queryParameters.get("cursor").flatMap { $0.isEmpty ? nil : String($0) }
        let limit = min(try wholeNumber(request, "limit", minimum: 1) ?? limits.maxFeedPage, limits.maxFeedPage)
        let engine = self.engine
        let pageLimit = limit
        let wait = snapshot ? 0 : min(try wholeNumber(request, "wait", minimum: 0) ?? 0, limits.maxFeedWait)
        let deadline = ContinuousClock.now + .seconds(wait)
        // The page is read beside the writer (the subscribers one correction wakes are read side by side). A long poll
        // (`wait`) holds the request while the page would be empty, reading it again at each stored change, and
        // answers with the first page that has something (or, when its time is up, the last one read).
        var prepared: PreparedFeedPage
        while true {
            let seen = board.work.current  // taken before the read, so a change stored meanwhile is not missed
            prepared = try await engineCall {
                try await offload.read { try await engine.prepareFeedPage(to: peer, after: cursor, limit: pageLimit, snapshot: snapshot) }
            }
            let left = deadline - ContinuousClock.now
            if !prepared.page.changes.isEmpty || left <= .zero || Task.isCancelled || Task.isShuttingDownGracefully { break }
            let remaining = Int(milliseconds(left)) + 1
            // A node that is stopping answers at once (with what it has) rather than hold its shutdown up.
            let board = self.board
            _ = try? await cancelWhenGracefulShutdown { await board.work.wait(after: seen, milliseconds: remaining) }
        }
        // Recorded through the writer before it is given out (so that later corrections reach the subscriber), with
        // the other pages served at the same moment in one transaction; signed off the writer.
        let served = prepared
        let page = try await engineCall {
            try await servedPages.submit(served)
            return try await offload.run { try engine.signed(served) }
        }
        board.count("xgate_feed_pages_served_total{peer=\"\(peer)\"}")
        return jose(page)
    }

    /// POST /v1/acknowledgements: a holder that pulled a correction acknowledges it.
    func receiveAcknowledgement(_ request: Request, context: GatewayContext) async throws -> Response {
        let peer = context.peer ?? ""
        try requireContentType(request, ["application/jose+json"])
        let engine = self.engine
        let result = try await withBody(request, caller: peer) { body in
            try await engineCall { try await offload.write { try await engine.receiveAcknowledgement(body) } }
        }
        guard result.sender == peer else {
            throw Problem(
                .forbidden, code: "peer.certificate-mismatch", detail: "the acknowledgement is signed by \(result.sender), not \(peer)")
        }
        return json(["acknowledged": .number(Double(result.acknowledged))])
    }

    // MARK: Helpers

    /// Reads the request body and runs `use` with it; its bytes count against the body budget until `use` returns.
    /// A body over `limit` (default `limits.maxBodyBytes`) is refused with 413 `request.too-large` whether or not it
    /// declares its length (a chunked body is counted as it arrives and cut at the limit); one that finds the budget
    /// full, with 503 `request.busy` (retryable) before its bytes are read.
    func withBody<T>(_ request: Request, caller: String, limit: Int? = nil, _ use: ([UInt8]) async throws -> T) async throws -> T {
        let limit = limit ?? limits.maxBodyBytes
        let declared = request.headers[.contentLength].flatMap { Int($0) }
        if let declared, declared > limit { throw tooLarge(limit) }
        // Small bodies (operator commands, console forms: at most 64 KiB each, and only as many as the connection
        // budgets let in) are not counted, so large peer uploads filling the budget never lock operators out.
        let counted = limit > Self.operatorBodyLimit
        var reserved = 0
        defer { bodies.release(reserved, for: caller) }
        func grow(to bytes: Int) throws {
            guard counted, bytes > reserved else { return }
            guard bodies.reserve(bytes - reserved, for: caller) else {
                board.count("xgate_bodies_refused_total{caller=\"\(caller)\"}")
                throw Problem(
                    .serviceUnavailable, code: "request.busy",
                    detail:
                        "the node is reading other bodies (limits.bodyMemoryBytes, at most half of it for \(caller)); retry in a moment",
                    retryable: true)
            }
            reserved = bytes
        }
        try grow(to: declared ?? 0)
        var bytes: [UInt8] = []
        bytes.reserveCapacity(declared ?? 0)
        for try await chunk in request.body {
            guard bytes.count + chunk.readableBytes <= limit else { throw tooLarge(limit) }
            try grow(to: bytes.count + chunk.readableBytes)
            bytes.append(contentsOf: chunk.readableBytesView)
        }
        return try await use(bytes)
    }

    func tooLarge(_ limit: Int) -> Problem {
        Problem(
            .contentTooLarge, code: "request.too-large",
            detail: limit == limits.maxBodyBytes
                ? "the body is larger than \(limit) bytes (limits.maxBodyBytes)" : "the body is larger than \(limit) bytes")
    }

    /// Refuses a body whose declared type is not one the endpoint takes (415 `request.content-type`).
    func requireContentType(_ request: Request, _ accepted: [String]) throws {
        let declared = request.headers[.contentType].map { $0.split(separator: ";")[0].trimmingCharacters(in: .whitespaces).lowercased() }
        guard let declared, accepted.contains(declared) else {
            throw Problem(
                .unsupportedMediaType, code: "request.content-type",
                detail:
                    "\(request.uri.path) takes \(accepted.joined(separator: " or ")), not \(declared.map { "\"\($0)\"" } ?? "a body without Content-Type")"
            )
        }
    }

    /// Runs an engine call, turning its errors into problems.
    func engineCall<T>(_ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch let error as EngineError {
            throw Problem(error)
        }
    }
}

/// A JSON value (lets a literal be returned where the type is spelled once).
func jsonValue(_ value: JSONValue) -> JSONValue { value }

/// A JSON response.
func json(_ value: JSONValue, status: HTTPResponse.Status = .ok) -> Response {
    Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: value.serialized())))
}

/// A signed document (JWS JSON serialization).
func jose(_ bytes: [UInt8]) -> Response {
    Response(status: .ok, headers: [.contentType: "application/jose+json"], body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
}

/// Counts every answer by route family and status (`xgate_http_requests_total{route,status}`), refusals included.
struct RequestMetricsMiddleware: RouterMiddleware {
    let board: DeliveryBoard

    func handle(_ request: Request, context: GatewayContext, next: @concurrent (Request, GatewayContext) async throws -> Response) async throws
        -> Response
    {
        let route = Self.route(request.uri.path)
        do {
            let response = try await next(request, context)
            board.count("xgate_http_requests_total{route=\"\(route)\",status=\"\(response.status.code)\"}")
            return response
        } catch let problem as Problem {
            board.count("xgate_http_requests_total{route=\"\(route)\",status=\"\(problem.status.code)\"}")
            throw problem
        } catch {
            board.count("xgate_http_requests_total{route=\"\(route)\",status=\"500\"}")
            throw error
        }
    }

    /// A bounded label: the endpoint family, never the raw path (record keys would make a series each).
    static func route(_ path: String) -> String {
        for (prefix, name) in [
            ("/v1/operator/", "operator"), ("/v1/batches", "batches"), ("/v1/feed", "feed"), ("/v1/acknowledgements", "acknowledgements"),
            ("/healthz", "healthz"), ("/readyz", "readyz"), ("/metrics", "metrics"),
        ] where path.hasPrefix(prefix) {
            return name
        }
        return "other"
    }
}

/// Turns every error that is not already a problem into one, so no request ever gets a stack trace or an empty 500:
/// Hummingbird's own errors (unknown route, wrong method) keep their status with a code; anything else is a logged
/// `server.error`.
struct ErrorBoundaryMiddleware: RouterMiddleware {
    /// The routes of `GatewayAPI.router()` by path (`:name` is one segment), with their methods and the query
    /// parameters they take (Contracts/openapi.yaml): a known path asked with another method is answered 405, and an
    /// unknown query parameter 400 — a misspelt `cursor` must not silently restart a feed.
    static let routes: [(path: [Substring], methods: [HTTPRequest.Method], parameters: Set<String>)] = [
        ("healthz", [.get], []), ("readyz", [.get], []), ("metrics", [.get], []), ("v1/batches", [.post], []),
        ("v1/feed", [.get], ["cursor", "limit", "wait"]), ("v1/feed/snapshot", [.get], ["limit"]), ("v1/acknowledgements", [.post], []),
        ("v1/operator/status", [.get], []), ("v1/operator/log", [.get], ["peer", "since", "event", "after", "limit"]),
        ("v1/operator/rejections", [.get], ["limit"]), ("v1/operator/records", [.post], []),
        ("v1/operator/records/:o/:k/:s", [.get], []), ("v1/operator/records/:o/:k/:s/status", [.post], []),
        ("v1/operator/conflicts", [.get], []), ("v1/operator/conflicts/:o/:k/:s/resolve", [.post], []),
        ("v1/operator/corrections", [.get], ["pending"]), ("v1/operator/requeue", [.post], []), ("v1/operator/alerts", [.get], []),
        ("v1/operator/reports/timeliness", [.get], ["month"]),
    ].map { (path: String, methods: [HTTPRequest.Method], parameters: Set<String>) in (path.split(separator: "/"), methods, parameters) }

    static func route(for path: String) -> (methods: [HTTPRequest.Method], parameters: Set<String>)? {
        let segments = path.split(separator: "/")
        return routes.first { route in
            route.path.count == segments.count && zip(route.path, segments).allSatisfy { $0.hasPrefix(":") || $0 == $1 }
        }.map { ($0.methods, $0.parameters) }
    }

    static func methods(for path: String) -> [HTTPRequest.Method]? { route(for: path)?.methods }

    func handle(_ request: Request, context: GatewayContext, next: @concurrent (Request, GatewayContext) async throws -> Response) async throws
        -> Response
    {
        do {
            if Self.route(for: request.uri.path) != nil {
                var seen = Set<String>()
                if let twice = request.uri.queryParameters.first(where: { !seen.insert(String($0.key)).inserted }) {
                    throw Problem(
                        .badRequest, code: "request.parameter", detail: "query parameter \"\(twice.key)\" is given more than once")
                }
            }
            if let route = Self.route(for: request.uri.path),
                let unknown = request.uri.queryParameters.first(where: { !route.parameters.contains(String($0.key)) })
            {
                let takes = route.parameters.isEmpty ? "no parameters" : route.parameters.sorted().joined(separator: ", ")
                throw Problem(
                    .badRequest, code: "request.parameter",
                    detail: "unknown query parameter \"\(unknown.key)\"; \(request.uri.path) takes \(takes)")
            }
            return try await next(request, context)
        } catch let problem as Problem {
            throw problem
        } catch let error as HTTPError {
            if error.status == .notFound, let allowed = Self.methods(for: request.uri.path), !allowed.contains(request.method) {
                var problem = Problem(
                    .methodNotAllowed, code: "request.method",
                    detail: "\(request.uri.path) takes \(allowed.map(\.rawValue).joined(separator: ", ")), not \(request.method)")
                problem.headers[.allow] = allowed.map(\.rawValue).joined(separator: ", ")
                throw problem
            }
            let code =
                error.status == .notFound ? "request.not-found" : error.status == .methodNotAllowed ? "request.method" : "request.invalid"
            var problem = Problem(
                error.status, code: code, detail: error.body ?? "\(request.method) \(request.uri.path): \(error.status.reasonPhrase)")
            if error.status == .methodNotAllowed, let allowed = Self.methods(for: request.uri.path) {
                problem.headers[.allow] = allowed.map(\.rawValue).joined(separator: ", ")
            }
            throw problem
        } catch let error as EngineError {
            throw Problem(error)
        } catch let error as StoreError {
            // The store's own words (tables, keys, sequences; never record content). A retryable failure had its runs
            // (Offload) and is answered 503 with Retry-After; any other is a fault of this node, a constraint a bug.
            if error.isRetryable {
                context.logger.warning("request failed on the store", metadata: ["path": "\(request.uri.path)", "error": "\(error)"])
                throw Problem(.serviceUnavailable, code: error.code.rawValue, detail: error.message, retryable: true)
            }
            context.logger.critical("request failed on the store", metadata: ["path": "\(request.uri.path)", "error": "\(error)"])
            throw Problem(.internalServerError, code: error.code.rawValue, detail: error.message, retryable: false)
        } catch {
            context.logger.error("request failed", metadata: ["path": "\(request.uri.path)", "error": "\(error)"])
            throw Problem(
                .internalServerError, code: "server.error", detail: "the node could not complete the request: \(error)", retryable: true)
        }
    }
}
