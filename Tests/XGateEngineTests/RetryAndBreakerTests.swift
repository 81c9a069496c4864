import Testing
import XGateCore

@testable import XGateEngine

@Suite struct RetryAndBreakerTests {
    @Test func backoffDoublesWithJitterUpToTheCap() {
        let policy = RetryPolicy(baseSeconds: 2, capSeconds: 60)
        #expect(policy.delay(afterAttempt: 1, unit: 0) == 1)
        #expect(policy.delay(afterAttempt: 1, unit: 0.999_999) < 2.000_001)
        #expect(policy.delay(afterAttempt: 3, unit: 1) == 8)
        #expect(policy.delay(afterAttempt: 3, unit: 0) == 4)
        #expect(policy.delay(afterAttempt: 30, unit: 1) == 60)
        #expect(policy.delay(afterAttempt: 10_000, unit: 0.5) == 45)
        #expect(throws: EngineError.self) { try RetryPolicy(baseSeconds: 10, capSeconds: 5).validate() }
    }

    @Test func theBreakerOpensAfterTheThresholdAndLetsOneTrialThrough() {
        var breaker = CircuitBreaker(configuration: .init(failureThreshold: 3, openSeconds: 60))
        let t0 = Timestamp("2026-11-20T09:00:00+08:00")!
        for _ in 0..<2 {
            do {
                let allowed = breaker.allowsRequest(now: t0)
                #expect(allowed)
            }
            breaker.recordFailure(now: t0)
        }
        #expect(breaker.name == "closed")
        breaker.recordFailure(now: t0)
        #expect(breaker.name == "open")
        do {
            let allowed = breaker.allowsRequest(now: Timestamp(seconds: t0.seconds + 59))
            #expect(!allowed)
        }
        do {
            let allowed = breaker.allowsRequest(now: Timestamp(seconds: t0.seconds + 60))
            #expect(allowed)
        }
        #expect(breaker.name == "half-open")
        do {
            let allowed = breaker.allowsRequest(now: Timestamp(seconds: t0.seconds + 61))
            #expect(!allowed, "one trial at a time")
        }
        breaker.recordFailure(now: Timestamp(seconds: t0.seconds + 61))
        #expect(breaker.name == "open")
        do {
            let allowed = breaker.allowsRequest(now: Timestamp(seconds: t0.seconds + 121))
            #expect(allowed)
        }
        breaker.recordSuccess()
        #expect(breaker.name == "closed")
    }

    @Test func feedCursorsAreOpaqueAndChecked() throws {
        #expect(try FeedCursor.position(FeedCursor.encode(42)) == 42)
        #expect(try FeedCursor.position(nil) == 0)
        #expect(throws: EngineError.self) { try FeedCursor.position("42") }
        #expect(throws: EngineError.self) { try FeedCursor.position("v1.!!!") }
    }
}
