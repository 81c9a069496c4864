import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import NIOSSL
import XGateCore

/// Who may call: peers by the SHA-256 pin of their client certificate's public key (PROTOCOL.md §2.2, `tls.pins`),
/// operators by a bearer token compared by its SHA-256. Built once from the registry and the configuration.
public struct AccessPolicy: Sendable {
    /// Node id by pin (`sha256/<base64>`).
    let nodesByPin: [String: String]
    /// The SHA-256 (lowercase hex) of the operator token.
    let operatorTokenSHA256: String
    /// Development plain HTTP: there are no certificates, so peers name themselves in `X-Xgate-Node` (loopback only).
    let developmentPlainHTTP: Bool

    /// Creates the policy from the registry's pins.
    public init(federation: Federation, operatorTokenSHA256: String, developmentPlainHTTP: Bool) {
        var pins: [String: String] = [:]
        for (id, peer) in federation.peers { for pin in peer.tlsPins { pins[pin] = id } }
        self.nodesByPin = pins
        self.operatorTokenSHA256 = operatorTokenSHA256.lowercased()
        self.developmentPlainHTTP = developmentPlainHTTP
    }

    /// The pin of a certificate: `sha256/` + base64 of the SHA-256 of its DER SubjectPublicKeyInfo.
    public static func pin(of certificate: NIOSSLCertificate) throws -> String {
        TLSPin.of(subjectPublicKeyInfo: try certificate.extractPublicKey().toSPKIBytes())
    }

    /// The node a client certificate is pinned for, if any.
    public func node(for certificate: NIOSSLCertificate) -> String? {
        (try? Self.pin(of: certificate)).flatMap { nodesByPin[$0] }
    }

    /// The node a request comes from, or a problem: no certificate, or one pinned for no node.
    func peer(of request: Request, context: GatewayContext) async throws -> String {
        guard let certificate = try await context.clientCertificate() else {
            if developmentPlainHTTP, let claimed = request.headers[HTTPField.Name("X-Xgate-Node")!] {
                return claimed
            }
            throw Problem(
                .unauthorized, code: "peer.certificate-required", detail: "peer endpoints require a client certificate (mutual TLS)")
        }
        let pin = try Self.pin(of: certificate)
        guard let node = nodesByPin[pin] else {
            throw Problem(
                .forbidden, code: "peer.unknown-certificate",
                detail: "the client certificate (\(pin)) is pinned for no node in the registry")
        }
        return node
    }

    /// Whether the request carries the operator token (`Authorization: Bearer …`), compared in constant time.
    func isOperator(_ request: Request) -> Bool {
        guard let header = request.headers[.authorization], header.hasPrefix("Bearer ") else { return false }
        return acceptsOperatorToken(String(header.dropFirst(7)))
    }

    /// Whether `token` is the operator token (the console's login form), compared by SHA-256 in constant time.
    func acceptsOperatorToken(_ token: String) -> Bool {
        let presented = Digest(of: Array(token.trimmingCharacters(in: .whitespaces).utf8)).hex
        var difference: UInt8 = 0
        let expected = Array(operatorTokenSHA256.utf8)
        let given = Array(presented.utf8)
        guard expected.count == given.count else { return false }
        for i in 0..<expected.count { difference |= expected[i] ^ given[i] }
        return difference == 0
    }
}

/// Identifies the calling peer by its certificate; everything under it is for peers only.
struct PeerAuthenticationMiddleware: RouterMiddleware {
    let access: AccessPolicy
    let limiter: RateLimiter

    func handle(_ request: Request, context: GatewayContext, next: @concurrent (Request, GatewayContext) async throws -> Response) async throws
        -> Response
    {
        var context = context
        let peer = try await access.peer(of: request, context: context)
        try limiter.admit(peer)
        context.peer = peer
        return try await next(request, context)
    }
}

/// Requires the operator token.
struct OperatorAuthenticationMiddleware: RouterMiddleware {
    let access: AccessPolicy
    let limiter: RateLimiter

    func handle(_ request: Request, context: GatewayContext, next: @concurrent (Request, GatewayContext) async throws -> Response) async throws
        -> Response
    {
        guard access.isOperator(request) else {
            throw Problem(
                .unauthorized, code: "operator.unauthenticated",
                detail: "operator endpoints need the operator token: Authorization: Bearer <token>")
        }
        try limiter.admit("operator")
        var context = context
        context.isOperator = true
        return try await next(request, context)
    }
}

/// A token bucket per caller: `rate` requests per second on average, bursts of `burst`.
final class RateLimiter: @unchecked Sendable {
    private let lock = NSLock()
    private var buckets: [String: (tokens: Double, at: Double)] = [:]
    let rate: Double
    let burst: Double

    init(rate: Double, burst: Double) {
        self.rate = rate
        self.burst = burst
    }

    func admit(_ caller: String) throws {
        let now = Date().timeIntervalSince1970
        let admitted: Bool = lock.withLock {
            var bucket = buckets[caller] ?? (burst, now)
            bucket.tokens = min(burst, bucket.tokens + (now - bucket.at) * rate)
            bucket.at = now
            let ok = bucket.tokens >= 1
            if ok { bucket.tokens -= 1 }
            buckets[caller] = bucket
            return ok
        }
        guard admitted else {
            throw Problem(
                .tooManyRequests, code: "request.rate-limited",
                detail: "more than \(rate) requests per second (burst \(Int(burst))) from \(caller); retry after a second", retryable: true)
        }
    }
}
