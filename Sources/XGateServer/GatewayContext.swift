import Hummingbird
import NIOCore
import NIOSSL

/// The request context of the gateway: Hummingbird's core storage, the connection (for the client certificate), and
/// who the caller turned out to be.
public struct GatewayContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    /// The connection the request came on; its TLS handler holds the client certificate.
    public let channel: any Channel
    /// The peer node identified by its pinned client certificate (peer routes only).
    public var peer: String?
    /// Whether the caller presented the operator credential (operator routes only).
    public var isOperator = false
    /// The console session's CSRF token (console routes only), put into every form.
    public var csrf = ""

    public init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
        self.channel = source.channel
    }

    /// The maximum body any route collects; routes collect with the configured limit themselves.
    public var maxUploadSize: Int { 256 * 1024 * 1024 }

    /// The client certificate presented on this connection, if any (nil on plain HTTP in development mode).
    func clientCertificate() async throws -> NIOSSLCertificate? {
        do {
            return try await channel.nioSSL_peerCertificate().get()
        } catch is ChannelPipelineError {
            return nil  // no TLS handler: development plain HTTP
        }
    }
}
