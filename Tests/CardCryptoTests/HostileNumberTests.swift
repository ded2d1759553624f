import CardCrypto
import Testing

/// Numbers and curves from card data: every bad value throws, nothing traps, nothing runs unbounded.
@Suite("Big numbers, DH domains and curves from untrusted data")
struct HostileNumberTests {
    @Test("A zero modulus or divisor throws instead of trapping")
    func zeroModulus() throws {
        let zero = BigNumber([0])
        let seven = BigNumber(7)
        #expect(throws: CryptoError.self) { _ = try seven.mod(zero) }
        #expect(throws: CryptoError.self) { _ = try seven.modExp(seven, zero) }
        #expect(throws: CryptoError.self) { _ = try seven.modMul(seven, zero) }
        #expect(throws: CryptoError.self) { _ = try seven.dividing(zero) }
        #expect(try seven.modExp(BigNumber(2), BigNumber(10)) == BigNumber(9))
        #expect(try BigNumber(100).dividing(seven) == BigNumber(14))
    }

    @Test("The standardized DH groups validate as themselves")
    func standardizedGroups() throws {
        for id in 0...2 {
            let group = try #require(DHGroup.standardized(id))
            let again = try DHGroup.validated(p: [0] + group.p, q: group.q, g: group.g)
            #expect(again == group && again.parameterID == id)
        }
    }

    @Test("DH domains outside the checked sizes, or not a subgroup, are refused with the reason")
    func badDomains() throws {
        let rfc = DHGroup.rfc5114_2048_256
        func refused(p: [UInt8], q: [UInt8], g: [UInt8], _ phrase: String) {
            do {
                _ = try DHGroup.validated(p: p, q: q, g: g)
                Issue.record("accepted: \(phrase)")
            } catch {
                #expect(error.reason.contains(phrase), "\(error.reason)")
            }
        }
        refused(p: rfc.p, q: [0], g: rfc.g, "q of 0 bits")
        let half = try BigNumber(rfc.p).subtracting(BigNumber(1)).dividing(BigNumber(2)).bytes()
        refused(p: rfc.p, q: half, g: rfc.g, "q of 2047 bits")
        refused(p: [UInt8](repeating: 0xFF, count: 1024), q: rfc.q, g: rfc.g, "p of 8192 bits")
        refused(p: Array(rfc.p.dropLast()) + [rfc.p.last! & 0xFE], q: rfc.q, g: rfc.g, "p is even")
        // q of the right size that does not divide p − 1.
        refused(p: rfc.p, q: DHGroup.rfc5114_2048_224.q + [0x01, 0x02, 0x03, 0x05], g: rfc.g, "does not divide")
        refused(p: rfc.p, q: rfc.q, g: [1], "does not generate")
    }

    @Test("Explicit curve parameters match a named curve without building one from card data")
    func matching() throws {
        let group = try ECGroup(.brainpoolP256r1)
        let named = try NamedCurve.matching(
            p: [0, 0] + group.prime, a: group.a, b: group.b, generator: group.generator.encoded, order: group.order,
            cofactor: [1])
        #expect(named == .brainpoolP256r1)
        // Another generator, an unknown prime, an oversized prime: no match, no trap.
        let other = try group.multiply(BigNumber(2)).encoded
        #expect(
            try NamedCurve.matching(
                p: group.prime, a: group.a, b: group.b, generator: other, order: group.order, cofactor: [1]) == nil)
        #expect(
            try NamedCurve.matching(
                p: [0x05] + group.prime, a: group.a, b: group.b, generator: group.generator.encoded,
                order: group.order, cofactor: [1]) == nil)
        #expect(
            try NamedCurve.matching(
                p: [UInt8](repeating: 0xFF, count: 4096), a: [], b: [], generator: [], order: [], cofactor: [1]) == nil)
        #expect(throws: CryptoError.self) {
            _ = try ECGroup(
                p: group.prime, a: group.a, b: group.b, generator: other, order: group.order, cofactor: [1])
        }
    }

    @Test("Random bytes: a negative or absurd count throws")
    func randomCount() {
        #expect(throws: CryptoError.self) { _ = try SecureRandom.bytes(-3) }
        #expect(throws: CryptoError.self) { _ = try SecureRandom.bytes(1 << 30) }
    }
}
