import Foundation
import Testing

@testable import XGateCore

@Suite struct Base64URLTests {
    @Test func roundTripsEveryLength() {
        for length in 0..<40 {
            let bytes = (0..<length).map { UInt8(($0 * 37 + 11) & 0xFF) }
            #expect(Base64URL.decode(Base64URL.encode(bytes)) == bytes)
        }
        #expect(Base64URL.encode(Array("xgate".utf8)) == "eGdhdGU")
    }

    @Test func refusesPaddingForeignCharactersAndNonCanonicalBits() {
        #expect(Base64URL.decode("eGdhdGU=") == nil)
        #expect(Base64URL.decode("eGdh+GU") == nil)
        #expect(Base64URL.decode("eGdhdGV") == nil)  // same bytes as eGdhdGU with stray low bits
        #expect(Base64URL.decode("e") == nil)
        #expect(Base64URL.decode("eQ") == Array("y".utf8))
        #expect(Base64URL.decode("eR") == nil)  // two characters: the last one's low four bits must be zero
        #expect(Base64URL.decode("eGdhdG\u{0}") == nil)
        #expect(Base64URL.decode("") == [])
    }

    /// Foundation's base64, with the URL alphabet and no padding, agrees on random bytes of every length up to 3 KB
    /// (the encoder writes into the string's storage directly: an off-by-one would show here).
    @Test func agreesWithFoundationOnRandomBytes() {
        var generator = SystemRandomNumberGenerator()
        for length in 0..<3_000 {
            let bytes = (0..<length).map { _ in UInt8.random(in: 0...255, using: &generator) }
            let reference = Data(bytes).base64EncodedString().replacingOccurrences(of: "+", with: "-")
                .replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
            #expect(Base64URL.encode(bytes) == reference)
            #expect(Base64URL.decode(reference) == bytes)
        }
    }
}
