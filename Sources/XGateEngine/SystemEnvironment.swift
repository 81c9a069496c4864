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
        return UUIDv7.string(milliseconds: milliseconds, a: UInt64.random(in: 0...UInt64.max), b: UInt64.random(in: 0...UInt64.max))
    }
}

/// The text form of a UUIDv7 (RFC 9562): 48 bits of Unix milliseconds, version 7, 12 random bits, variant 10, 62
/// random bits. Shared by the system's random source and the seeded ones of tests and benchmarks.
public enum UUIDv7 {
    /// The UUID for `milliseconds` with random bits taken from `a` (low 12) and `b` (low 62).
    public static func string(milliseconds: UInt64, a: UInt64, b: UInt64) -> String {
        let hex = String(
            format: "%012llx%04llx%016llx", milliseconds & 0xFFFF_FFFF_FFFF, (a & 0x0FFF) | 0x7000,
            (b & 0x3FFF_FFFF_FFFF_FFFF) | 0x8000_0000_0000_0000)
        let c = Array(hex)
        return "\(String(c[0..<8]))-\(String(c[8..<12]))-\(String(c[12..<16]))-\(String(c[16..<20]))-\(String(c[20..<32]))"
    }
}
