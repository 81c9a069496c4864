import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import NIOSSL
import XGateJSON

/// The operator API of a running daemon, for the CLI: bearer token over TLS (server certificate checked against
/// the given CA file), JSON in and out.
public final class OperatorClient: Sendable {
    let http: HTTPClient
    let baseURL: String
    let token: String

    /// A failed call: the daemon's problem code and detail, or why the daemon could not be reached.
    public struct Failure: Error, Sendable, CustomStringConvertible {
        public var status: Int
        public var code: String
        public var detail: String
        public var description: String { "\(code): \(detail)" }
    }

    /// Creates a client for the daemon at `baseURL` (https://host:port, or http://127.0.0.1:port in development).
    public init(baseURL: String, token: String, trustRootsPath: String?) {
        var tls = TLSConfiguration.makeClientConfiguration()
        if let trustRootsPath { tls.trustRoots = .file(trustRootsPath) }
        var configuration = HTTPClient.Configuration(tlsConfiguration: tls)
        configuration.timeout = .init(connect: .seconds(10), read: .seconds(300))
        self.http = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
        self.baseURL = baseURL.hasSuffix("/") ? String(baseURL.dropLast()) : baseURL
        self.token = token
    }

    /// Shuts the client down.
    public func shutdown() async throws { try await http.shutdown() }

    /// GET a path (with its query); the JSON answer.
    public func get(_ path: String) async throws(Failure) -> JSONValue { try await call(.GET, path, body: nil) }

    /// POST a body; the JSON answer.
    public func post(_ path: String, body: [UInt8], contentType: String = "application/json") async throws(Failure) -> JSONValue {
        try await call(.POST, path, body: body, contentType: contentType)
    }

    func call(_ method: HTTPMethod, _ path: String, body: [UInt8]?, contentType: String = "application/json") async throws(Failure)
        -> JSONValue
    {
        var request = HTTPClientRequest(url: baseURL + path)
        request.method = method
        request.headers.add(name: "Authorization", value: "Bearer \(token)")
        if let body {
            request.headers.add(name: "Content-Type", value: contentType)
            request.body = .bytes(ByteBuffer(bytes: body))
        }
        let status: Int
        let bytes: [UInt8]
        do {
            let response = try await http.execute(request, timeout: .seconds(300))
            status = Int(response.status.code)
            bytes = Array(try await response.body.collect(upTo: 512 * 1024 * 1024).readableBytesView)
        } catch {
            throw Failure(status: 0, code: "daemon.unreachable", detail: "cannot reach the daemon at \(baseURL): \(error)")
        }
        let value = try? JSONParser().parse(bytes)
        guard (200..<300).contains(status) else {
            throw Failure(
                status: status, code: value?["code"]?.stringValue ?? "http.\(status)",
                detail: value?["detail"]?.stringValue ?? "HTTP \(status) from \(baseURL)\(path)")
        }
        guard let value else { throw Failure(status: status, code: "daemon.response", detail: "the daemon's answer is not JSON") }
        return value
    }
}
