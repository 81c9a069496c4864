import XGateCore

extension RetryPolicy {
    /// Refuses a policy that cannot work.
    public func validate() throws(EngineError) {
        guard baseSeconds > 0, capSeconds >= baseSeconds else {
            throw EngineError(code: "config.invalid", message: "retry: need 0 < baseSeconds ≤ capSeconds")
        }
    }
}
