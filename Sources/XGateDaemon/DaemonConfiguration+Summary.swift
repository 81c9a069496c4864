import Logging

extension DaemonConfiguration {
    /// What the start-up log line says about the configuration: where the node listens and keeps its store, how it
    /// is reached and whom it pulls from, and the limits — never a secret, a hash of one, or a key's contents.
    public var summary: Logger.Metadata {
        [
            "listen": "\(listenHost):\(listenPort)",
            "tls": developmentPlainHTTP ? "off (development plain HTTP)" : "mutual",
            "store": "\(store.description)",
            "registry": "\(peersPath)",
            "pullFrom": "\(sync.pullFrom.joined(separator: ","))",
            "pulledBy": "\(sync.pulledBy.joined(separator: ","))",
            "logLevel": "\(logLevel)",
            "limits":
                "body \(limits.maxBodyBytes) B, bodies \(limits.bodyMemoryBytes) B, \(limits.requestsPerSecond)/s burst \(Int(limits.burst)), connections \(limits.maxConnections) (anonymous \(limits.anonymousConnections), per address \(limits.connectionsPerAddress), per peer \(limits.connectionsPerPeer)), timeouts handshake \(limits.handshakeTimeoutSeconds) s head \(limits.requestHeadTimeoutSeconds) s idle \(limits.idleTimeoutSeconds) s, body ≥ \(limits.minBodyBytesPerSecond) B/s",
        ]
    }
}
