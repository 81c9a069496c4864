import Foundation
import XGateCore

/// The wall clock (whole seconds), for the daemon.
public struct SystemClock: EngineClock {
    public init() {}
    public func now() -> Timestamp { Timestamp(seconds: Int64(Date().timeIntervalSince1970)) }
}

/// The system's random numbers and UUIDv7 batch ids (RFC 9562: 48-bit Unix milliseconds, version 7, variant 10),
/// for the daemon.
public struct SystemRandom: EngineRandom {
    public init() {}

    public func unit() -> Double { Double.random(in: 0..<1) }

    public func batchID(at time: Timestamp) -> String {
        let milliseconds = max(UInt64(Date().timeIntervalSince1970 * 1000), UInt64(max(0, time.seconds)) * 1000)
        let a = UInt64.random(in: 0...UInt64.max)
        let b = UInt64.random(in: 0...UInt64.max)
        let hex = String(
            format: "%012llx%04llx%016llx", milliseconds & 0xFFFF_FFFF_FFFF, (a & 0x0FFF) | 0x7000,
            (b & 0x3FFF_FFFF_FFFF_FFFF) | 0x8000_0000_0000_0000)
        let c = Array(hex)
        return "\(String(c[0..<8]))-\(String(c[8..<12]))-\(String(c[12..<16]))-\(String(c[16..<20]))-\(String(c[20..<32]))"
    }
}
