import Foundation
import HTTPTypes
import Hummingbird
import XGateEngine
import XGateJSON

/// An error answered as an RFC 9457 problem document (`application/problem+json`) carrying a stable code from
/// PROTOCOL.md §10: what went wrong, to what, and whether a retry can help.
public struct Problem: Error, HTTPResponseError, Sendable {
    public var status: HTTPResponse.Status
    public var code: String
    public var detail: String
    public var retryable: Bool
    /// Extra members (for `sequence.gap`: `expectedSequence`).
    public var extra: [String: JSONValue]
    /// Headers the answer carries besides its content type (`Allow` on a 405).
    public var headers: HTTPFields = [:]

    /// Creates a problem.
    public init(_ status: HTTPResponse.Status, code: String, detail: String, retryable: Bool = false, extra: [String: JSONValue] = [:]) {
        self.status = status
        self.code = code
        self.detail = detail
        self.retryable = retryable
        self.extra = extra
    }

    /// The problem for an engine error, with the HTTP status its code calls for.
    public init(_ error: EngineError) {
        var extra: [String: JSONValue] = [:]
        if let expected = error.expectedSequence { extra["expectedSequence"] = .number(Double(expected)) }
        self.init(Problem.status(for: error.code), code: error.code, detail: error.message, retryable: error.retryable, extra: extra)
    }

    /// The HTTP status of a stable error code.
    static func status(for code: String) -> HTTPResponse.Status {
        switch code {
        case "sequence.gap", "sequence.replayed", "batch.replayed": return .conflict
        case "signature.invalid", "key.unknown", "key.expired", "key.not-yet-valid", "key.revoked": return .unauthorized
        case "peer.certificate-mismatch", "batch.misaddressed", "agreement.not-permitted", "feed.not-subscribed": return .forbidden
        case "batch.too-large": return .contentTooLarge
        case "record.unknown", "conflict.unknown", "batch.unknown": return .notFound
        case "store.inconsistent", "contracts.missing": return .internalServerError
        default:
            if code.hasPrefix("key.") { return .unauthorized }
            return .unprocessableContent
        }
    }

    /// The problem document.
    public var json: JSONValue {
        var members: [(key: String, value: JSONValue)] = [
            ("type", .string("urn:xgate:problem:\(code)")), ("title", .string(status.reasonPhrase)),
            ("status", .number(Double(status.code))),
            ("detail", .string(detail)), ("code", .string(code)), ("retryable", .bool(retryable)),
        ]
        for key in extra.keys.sorted() { members.append((key, extra[key]!)) }
        return .object(JSONObject(members))
    }

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        var headers = self.headers
        headers[.contentType] = "application/problem+json"
        if status == .tooManyRequests || status == .serviceUnavailable { headers[.retryAfter] = "1" }
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: json.serialized())))
    }
}
