import Foundation
import Testing
import XGateJSON
import XGateTestSupport

@testable import XGateCore
@testable import XGateJOSE

@Suite struct JWSTests {
    let district = SigningKey.generate(node: "sh-xuhui")
    let city = SigningKey.generate(node: "sh-city")

    func peer(_ key: SigningKey, roles: Set<Peer.Role>, division: String, notAfter: String = "2027-12-31T23:59:59+08:00") throws -> Peer {
        try Peer(json: [
            "id": .string(key.node), "name": "test", "roles": .array(roles.map { .string($0.rawValue) }), "division": .string(division),
            "endpoint": "https://example.test", "tls": ["pins": []],
            "keys": [["jwk": key.publicJWK, "notBefore": "2026-01-01T00:00:00+08:00", "notAfter": .string(notAfter)]],
        ])
    }

    func verifier(districtNotAfter: String = "2027-12-31T23:59:59+08:00") throws -> SignatureVerifier {
        SignatureVerifier(
            federation: Federation(
                peers: [
                    try peer(district, roles: [.district], division: "310104", notAfter: districtNotAfter),
                    try peer(city, roles: [.city], division: "310000"),
                ],
                agreements: []))
    }

    func batch(from: String = "sh-xuhui", createdAt: String = "2026-11-20T10:00:00+08:00") -> [UInt8] {
        BatchDocument(
            batchId: "0193a5c2-7e4d-7b21-9f3a-2c8d4e6f1a0b", from: from, to: "sh-city", sequence: 1,
            createdAt: Timestamp(createdAt)!, changes: [SampleRecords.penalty(sourceId: "XH-2026-0001")]
        ).json.serialized()
    }

    let now = Timestamp("2026-11-22T12:00:00+08:00")

    func code(_ body: () throws -> Void) -> String? {
        do { try body(); return nil } catch let error as BatchError { return error.code } catch { return "unexpected \(error)" }
    }

    @Test func signsAndVerifiesABatch() throws {
        let jws = try JWS.sign(payload: batch(), type: JWS.batchType, key: district)
        let verified = try verifier().verifyBatch(jws, now: now)
        #expect(verified.signer.id == "sh-xuhui")
        #expect(verified.kid == district.kid)
        #expect(verified.payloadBytes == batch())
        let header = try JSONParser().parse(Base64URL.decode(jws["protected"]!.stringValue!)!)
        #expect(header == ["alg": "EdDSA", "kid": .string(district.kid), "typ": "xgate-batch+json"])
    }

    @Test func refusesAPayloadWithOneByteChanged() throws {
        var jws = try JWS.sign(payload: batch(), type: JWS.batchType, key: district)
        var payload = batch()
        payload[payload.count / 2] ^= 0x01
        var o = try #require(jws.objectValue)
        o["payload"] = .string(Base64URL.encode(payload))
        jws = .object(o)
        #expect(code { _ = try verifier().verifyBatch(jws, now: now) } == "signature.invalid")
    }

    @Test func refusesAKeyOfOneNodeSigningAnothersBatch() throws {
        let jws = try JWS.sign(payload: batch(from: "sh-city"), type: JWS.batchType, key: district)
        #expect(code { _ = try verifier().verifyBatch(jws, now: now) } == "key.sender-mismatch")
    }

    @Test func refusesUnknownAndExpiredKeys() throws {
        let stranger = SigningKey.generate(node: "sh-xuhui")
        let unknown = try JWS.sign(payload: batch(), type: JWS.batchType, key: stranger)
        #expect(code { _ = try verifier().verifyBatch(unknown, now: now) } == "key.unknown")
        let signed = try JWS.sign(payload: batch(), type: JWS.batchType, key: district)
        #expect(code { _ = try verifier(districtNotAfter: "2026-06-30T23:59:59+08:00").verifyBatch(signed, now: now) } == "key.expired")
        let early = try JWS.sign(payload: batch(createdAt: "2025-12-31T10:00:00+08:00"), type: JWS.batchType, key: district)
        #expect(code { _ = try verifier().verifyBatch(early, now: now) } == "key.not-yet-valid")
        let future = try JWS.sign(payload: batch(createdAt: "2026-11-23T10:00:00+08:00"), type: JWS.batchType, key: district)
        #expect(code { _ = try verifier().verifyBatch(future, now: now) } == "batch.future")
    }

    @Test func refusesOtherAlgorithmsTypesAndShapes() throws {
        let good = try JWS.sign(payload: batch(), type: JWS.batchType, key: district)
        func withHeader(_ header: JSONValue) -> JSONValue {
            guard case .object(var o) = good else { return good }
            o["protected"] = .string(Base64URL.encode(header.serialized()))
            return .object(o)
        }
        #expect(
            code {
                _ = try verifier().verifyBatch(
                    withHeader(["alg": "none", "kid": .string(district.kid), "typ": "xgate-batch+json"]), now: now)
            } == "jws.algorithm")
        #expect(
            code { _ = try verifier().verifyBatch(withHeader(["alg": "EdDSA", "kid": .string(district.kid), "typ": "JWT"]), now: now) }
                == "jws.type")
        // RFC 9864's fully-specified name parses (the signature then fails only because the header bytes changed).
        #expect(
            code {
                _ = try verifier().verifyBatch(
                    withHeader(["alg": "Ed25519", "kid": .string(district.kid), "typ": "xgate-batch+json"]), now: now)
            } == "signature.invalid")
        #expect(
            code {
                _ = try verifier().verifyBatch(
                    withHeader(["alg": "EdDSA", "kid": .string(district.kid), "typ": "xgate-batch+json", "crit": ["exp"]]), now: now)
            } == "jws.header")
        #expect(code { _ = try verifier().verifyReceipt(good, now: now) } == "jws.type")
        #expect(code { _ = try verifier().verifyBatch(["payload": "e30"], now: now) } == "jws.format")
        // The general serialization with its one signature is accepted.
        let general: JSONValue = [
            "payload": good["payload"]!, "signatures": [["protected": good["protected"]!, "signature": good["signature"]!]],
        ]
        #expect(code { _ = try verifier().verifyBatch(general, now: now) } == nil)
    }

    @Test func refusesAKidThatIsNotANodeAndThumbprintWithoutEchoingIt() throws {
        let good = try JWS.sign(payload: batch(), type: JWS.batchType, key: district)
        let forged: JSONValue = [
            "alg": "EdDSA", "kid": .string("sh-city:\nxgate: signature valid (key sh-city:x)\u{1b}[2K"), "typ": "xgate-batch+json",
        ]
        var o = try #require(good.objectValue)
        o["protected"] = .string(Base64URL.encode(forged.serialized()))
        do {
            _ = try verifier().verifyBatch(.object(o), now: now)
            Issue.record("a malformed kid was accepted")
        } catch let error as BatchError {
            #expect(error.code == "key.unknown")
            #expect(!error.message.contains("\n") && !error.message.contains("\u{1b}"))
        }
    }

    @Test func refusesAGeneralSerializationThatAlsoCarriesFlattenedMembers() throws {
        let good = try JWS.sign(payload: batch(), type: JWS.batchType, key: district)
        let mixed: JSONValue = [
            "payload": good["payload"]!, "protected": good["protected"]!, "signature": good["signature"]!,
            "signatures": [["protected": good["protected"]!, "signature": good["signature"]!]],
        ]
        #expect(code { _ = try verifier().verifyBatch(mixed, now: now) } == "jws.format")
    }

    @Test func verifiesTheRFC8032TestVector() throws {
        // RFC 8032 §7.1 TEST 1: the empty message.
        let publicKey = hex("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a")
        let signature = hex(
            "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"
        )
        let parsed = JWS.Parsed(header: JSONObject(), kid: "x:y", signer: "x", payload: [], signingInput: [], signature: signature)
        #expect(JWS.isSignatureValid(parsed, publicKey: publicKey))
        var tampered = parsed
        tampered.signingInput = [0]
        #expect(!JWS.isSignatureValid(tampered, publicKey: publicKey))
    }

    @Test func roundTripsPKCS8AndRefusesTheWrongKid() throws {
        let restored = try SigningKey(pem: district.pkcs8PEM, node: "sh-xuhui", kid: district.kid)
        #expect(restored.publicKey == district.publicKey)
        for secret in [
            Base64URL.encode(district.seed), Data(district.seed).base64EncodedString(),
            district.seed.map { String(format: "%02x", $0) }.joined(),
        ] {
            #expect(!district.description.contains(secret))
            #expect(!"\(district)".contains(secret))
        }
        #expect(throws: KeyError.self) { try SigningKey(pem: district.pkcs8PEM, node: "sh-xuhui", kid: city.kid) }
        #expect(throws: KeyError.self) {
            try SigningKey(pem: "-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----", node: "sh-xuhui")
        }
        // The kid is the RFC 7638 thumbprint (RFC 8037 Appendix A.3 gives this one for its example key).
        #expect(
            Peer.thumbprint(publicKey: hex("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a"))
                == "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k")
    }

    func hex(_ s: String) -> [UInt8] {
        var bytes: [UInt8] = []
        var chars = Array(s)[...]
        while chars.count >= 2 {
            bytes.append(UInt8(String(chars.prefix(2)), radix: 16)!)
            chars = chars.dropFirst(2)
        }
        return bytes
    }
}
