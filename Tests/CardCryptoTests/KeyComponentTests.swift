import CardCore
import CardCrypto
import Testing

@Suite("Keys from their components: RSA from n, e, d (primes recovered) and from p, q; EC from a scalar")
struct KeyComponentTests {
    @Test(
        "An RSA key rebuilt from n, e and d alone is the same key: same primes, same raw signature",
        arguments: [1024, 2048])
    func rsaFromPrivateExponent(_ bits: Int) throws {
        let key = try AsymmetricKey.generateRSA(bits: bits)
        let rebuilt = try AsymmetricKey.rsa(
            modulus: try key.component("n"), publicExponent: try key.component("e"),
            privateExponent: try key.component("d"))
        #expect(rebuilt.bits == bits)
        #expect(
            Set([try rebuilt.component("rsa-factor1"), try rebuilt.component("rsa-factor2")])
                == Set([try key.component("rsa-factor1"), try key.component("rsa-factor2")]))
        let m = [0x6A] + [UInt8](repeating: 0x5A, count: bits / 8 - 2) + [0xBC]
        #expect(try rebuilt.rsaPrivateRaw(m) == (try key.rsaPrivateRaw(m)))
        // Its PKCS#8 round-trips and still signs the same.
        let again = try AsymmetricKey(privateKeyDER: try rebuilt.privateKeyDER())
        #expect(try again.rsaPrivateRaw(m) == (try key.rsaPrivateRaw(m)))
    }

    @Test("A wrong private exponent, a wrong public exponent or a tiny modulus is no RSA key")
    func rsaFromPrivateExponentRejects() throws {
        let key = try AsymmetricKey.generateRSA(bits: 1024)
        let (n, e, d) = (try key.component("n"), try key.component("e"), try key.component("d"))
        var wrongD = d
        wrongD[wrongD.count - 1] ^= 0x02
        #expect(throws: CryptoError.self) {
            _ = try AsymmetricKey.rsa(modulus: n, publicExponent: e, privateExponent: wrongD)
        }
        #expect(throws: CryptoError.self) {
            _ = try AsymmetricKey.rsa(modulus: n, publicExponent: [0x03], privateExponent: d)
        }
        #expect(throws: CryptoError.self) {
            _ = try AsymmetricKey.rsa(modulus: [0xC5], publicExponent: e, privateExponent: d)
        }
        #expect(throws: CryptoError.self) {
            _ = try AsymmetricKey.rsa(modulus: n, publicExponent: e, privateExponent: [])
        }
    }

    @Test("Primes from a candidate are deterministic, of the candidate's length, and make a working key")
    func primesFromCandidates() throws {
        let a = [UInt8](repeating: 0x11, count: 64)
        let b = [UInt8](repeating: 0x77, count: 64)
        let p = try AsymmetricKey.rsaPrime(from: a)
        #expect(p == (try AsymmetricKey.rsaPrime(from: a)))
        #expect(p.count == 64 && p[0] & 0xC0 == 0xC0 && p[63] & 1 == 1)
        let q = try AsymmetricKey.rsaPrime(from: b)
        let key = try AsymmetricKey.rsa(p: p, q: q, e: [0x01, 0x00, 0x01])
        #expect(key.bits == 1024)
        let public_ = try AsymmetricKey(publicKeyDER: try key.publicKeyDER())
        let m = [0x6A] + [UInt8](repeating: 0x33, count: 126) + [0xBC]
        #expect(public_.rsaPublicRaw(try key.rsaPrivateRaw(m)) == m)
        #expect(throws: CryptoError.self) { _ = try AsymmetricKey.rsa(p: p, q: p, e: [0x01, 0x00, 0x01]) }
    }

    @Test(
        "An EC key from its scalar has the original's public point; 0 and the order are refused",
        arguments: NamedCurve.allCases)
    func ecFromScalar(_ curve: NamedCurve) throws {
        let group = try ECGroup(curve)
        let key = try AsymmetricKey.generateEC(curve)
        let rebuilt = try AsymmetricKey.ec(curve, scalar: try key.ecPrivateScalar().bytes())
        #expect(try rebuilt.ecPublicPoint() == (try key.ecPublicPoint()))
        #expect(throws: CryptoError.self) { _ = try AsymmetricKey.ec(curve, scalar: [0]) }
        #expect(throws: CryptoError.self) { _ = try AsymmetricKey.ec(curve, scalar: group.order) }
    }
}
