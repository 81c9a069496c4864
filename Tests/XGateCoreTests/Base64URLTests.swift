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
    }
}
