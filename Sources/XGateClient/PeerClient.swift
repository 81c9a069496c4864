import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import NIOSSL
import XGateCore
import XGateEngine
import XGateJSON

/// Outgoing HTTPS to peers with this node's client certificate: pushes batches (the engine's transport), pulls feed
/// pages, sends acknowledgements. A peer's server certificate must chain to the configured trust roots, match the
/// endpoint's host name, and carry a public key pinned for that peer in the registry (`tls.pins`): the pins are
/// checked on both ends of mutual TLS, so a certificate the CA issued to another node is refused
/// (`peer.server-certificate-mismatch`). Call `shutdown()` when done.
public final class PeerClient: PeerTransport, Sendable {
    /// One connection pool per peer, each checking that peer's pins.
    let clients: [String: HTTPClient]
    let federation: Federation
    let node: String
    let timeout: TimeAmount

    /// Creates a client. `certificatePath`/`privateKeyPath` nil (development plain HTTP) sends no certificate and
    /// names this node in `X-Xgate-Node` instead (and there are no server certificates to pin).
    public init(
        node: String, federation: Federation, certificatePath: String?, privateKeyPath: String?, trustRootsPath: String?,
        timeoutSeconds: Int
    ) throws {
        var tls = TLSConfiguration.makeClientConfiguration()
        let development = certificatePath == nil
        if let certificatePath, let privateKeyPath {
            tls.certificateChain = try NIOSSLCertificate.fromPEMFile(certificatePath).map { .certificate($0) }
            tls.privateKey = .privateKey(try NIOSSLPrivateKey(file: privateKeyPath, format: .pem))
        }
        if let trustRootsPath { tls.trustRoots = .file(trustRootsPath) }
        tls.minimumTLSVersion = .tlsv12
        var clients: [String: HTTPClient] = [:]
        for (id, peer) in federation.peers where id != node {
            var configuration = HTTPClient.Configuration(tlsConfiguration: tls)
            // The read timeout leaves room for a long poll (a feed request held by the publisher, at most
            // PeerClient.longestWait); each request's deadline is the timeout plus the wait it asked for.
            configuration.timeout = .init(connect: .seconds(10), read: .seconds(Int64(timeoutSeconds + PeerClient.longestWait)))
            configuration.httpVersion = .http1Only
            // The engine retries with its own backoff; a connection that fails (refused, wrong pin) fails the request.
            configuration.connectionPool.retryConnectionEstablishment = false
            // Below the peers' keep-alive timeout (limits.idleTimeoutSeconds, 60 s), so a pooled connection is
            // given up here before the peer closes it.
            configuration.connectionPool.idleTimeout = .seconds(30)
            if !development {
                let pins = Set(peer.tlsPins)
                configuration.http1_1ConnectionDebugInitializer = { channel in
                    channel.nioSSL_peerCertificate().flatMapThrowing { certificate in
                        try PeerClient.check(certificate, of: id, pins: pins)
                    }.flatMapErrorThrowing { error in
                        channel.close(promise: nil)
                        throw error
                    }
                }
            }
            clients[id] = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
        }
        self.clients = clients
        self.federation = federation
        self.node = node
        self.timeout = .seconds(Int64(timeoutSeconds))
    }

    /// The longest wait a feed request asks for (seconds): the pull loops ask for their interval, at most this.
    public static let longestWait = 25

    /// The server certificate of a connection to `peer` must carry a key pinned for it.
    static func check(_ certificate: NIOSSLCertificate?, of peer: String, pins: Set<String>) throws {
        guard let certificate else { throw ServerCertificateMismatch(peer: peer, pin: nil) }
        let pin = TLSPin.of(subjectPublicKeyInfo: try certificate.extractPublicKey().toSPKIBytes())
        guard pins.contains(pin) else { throw ServerCertificateMismatch(peer: peer, pin: pin) }
    }

    /// A peer's server presented a certificate not pinned for it.
    struct ServerCertificateMismatch: Error, CustomStringConvertible {
        var peer: String
        var pin: String?
        var description: String {
            guard let pin else { return "the server of \(peer) presented no certificate" }
            return "the server certificate at \(peer)'s endpoint (\(pin)) is not pinned for \(peer) in the registry (tls.pins)"
        }
    }

    /// Shuts the connection pools down.
    public func shutdown() async throws {
        for client in clients.values { try? await client.shutdown() }
    }

    func url(_ peer: String, _ path: String) throws -> String {
        guard let endpoint = federation.peers[peer]?.endpoint else {
            throw EngineError(code: "peer.unknown", message: "\(peer) has no endpoint in the registry")
        }
        return (endpoint.hasSuffix("/") ? String(endpoint.dropLast()) : endpoint) + path
    }

    /// Sends a request; a 2xx body comes back, a problem document becomes an `EngineError` with its code.
    func exchange(
        _ method: HTTPMethod, _ peer: String, _ path: String, body: [UInt8]?, contentType: String, waiting: TimeAmount = .zero
    ) async throws -> [UInt8] {
        let url = try self.url(peer, path)
        var request = HTTPClientRequest(url: url)
        request.method = method
        request.headers.add(name: "X-Xgate-Node", value: node)
        if let body {
            request.headers.add(name: "Content-Type", value: contentType)
            request.body = .bytes(ByteBuffer(bytes: body))
        }
        guard let http = clients[peer] else {
            throw EngineError(code: "peer.unknown", message: "\(peer) is not a peer of \(node) in the registry")
        }
        let response: HTTPClientResponse
        do {
            response = try await http.execute(request, timeout: timeout + waiting)
        } catch let mismatch as ServerCertificateMismatch {
            throw EngineError(code: "peer.server-certificate-mismatch", message: mismatch.description, retryable: true)
        }
        let bytes = Array(try await response.body.collect(upTo: 256 * 1024 * 1024).readableBytesView)
        guard (200..<300).contains(Int(response.status.code)) else {
            throw PeerClient.problem(status: Int(response.status.code), body: bytes)
        }
        return bytes
    }

    /// The engine error a peer's problem document stands for (or a retryable transport error if it is not one).
    static func problem(status: Int, body: [UInt8]) -> EngineError {
        if let value = try? JSONParser().parse(body), let code = value["code"]?.stringValue {
            return EngineError(
                code: code, message: value["detail"]?.stringValue ?? "HTTP \(status)",
                retryable: value["retryable"]?.boolValue ?? (status >= 500),
                expectedSequence: value["expectedSequence"]?.numberValue.flatMap { Int(exactly: $0) }.flatMap { $0 >= 1 ? $0 : nil })
        }
        return EngineError(
            code: "transport.http", message: "HTTP \(status) without a problem document", retryable: status >= 500 || status == 429)
    }

    /// POST /v1/batches at `peer`: the receipt.
    public func push(_ jws: [UInt8], to peer: String) async throws -> [UInt8] {
        try await exchange(.POST, peer, "/v1/batches", body: jws, contentType: "application/jose+json")
    }

    /// GET /v1/feed (or /v1/feed/snapshot) at `peer`: a signed page. `wait` seconds > 0: the publisher may hold the
    /// request that long for a change (a long poll); the request's timeout grows by as much.
    public func pull(from peer: String, cursor: String?, limit: Int, snapshot: Bool = false, wait: Int = 0) async throws -> [UInt8] {
        var path = snapshot ? "/v1/feed/snapshot" : "/v1/feed?limit=\(limit)"
        if !snapshot, let cursor { path += "&cursor=" + (cursor.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? cursor) }
        let wait = min(max(0, wait), PeerClient.longestWait)
        if !snapshot, wait > 0 { path += "&wait=\(wait)" }
        return try await exchange(.GET, peer, path, body: nil, contentType: "", waiting: .seconds(Int64(wait)))
    }

    /// POST /v1/acknowledgements at `peer`.
    public func acknowledge(_ jws: [UInt8], to peer: String) async throws {
        _ = try await exchange(.POST, peer, "/v1/acknowledgements", body: jws, contentType: "application/jose+json")
    }
}
