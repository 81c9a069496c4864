import Testing

@testable import XGateCore

@Suite struct DigestTests {
    /// FIPS 180-2's vectors, written as the wire writes them.
    @Test func writesTheStandardVectorsInLowercaseHex() {
        #expect(Digest(of: Array("abc".utf8)).description == "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(Digest(of: [UInt8]()).hex == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
    }

    @Test func parsesOnlyTheWireForm() {
        let text = "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        #expect(Digest(text) == Digest(of: Array("abc".utf8)))
        #expect(Digest(text.uppercased()) == nil, "the prefix and the digits are lowercase")
        #expect(Digest("sha256:BA7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad") == nil)
        #expect(Digest(String(text.dropLast())) == nil, "63 digits")
        #expect(Digest(text + "0") == nil, "65 digits")
        #expect(Digest("sha512:" + text.dropFirst(7)) == nil)
        #expect(Digest("sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ag") == nil, "g is not a hex digit")
        #expect(Digest("sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f2001５") == nil, "a full-width digit")
    }
}
