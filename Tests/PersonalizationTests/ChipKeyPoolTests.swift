import CardCrypto
import Foundation
import Personalization
import Testing

@Suite("Chip keys made ahead for chips that cannot make their own")
struct ChipKeyPoolTests {
    @Test("The pool fills each kind to its depth on background threads; takes are served from it, distinct keys each time; a kind it was not asked for is made on demand")
    func fillsAndServes() throws {
        let pool = ChipKeyPool(kinds: [.ec(.brainpoolP256r1), .rsa(bits: 1024)], depth: 3, workers: 2)
        defer { pool.stop() }
        let deadline = Date().addingTimeInterval(30)
        while (pool.count(.ec(.brainpoolP256r1)) < 3 || pool.count(.rsa(bits: 1024)) < 3) && Date() < deadline {
            Thread.sleep(forTimeInterval: 0.02)
        }
        #expect(pool.count(.ec(.brainpoolP256r1)) == 3 && pool.count(.rsa(bits: 1024)) == 3)
        var points: Set<[UInt8]> = []
        for _ in 0..<3 {
            let key = try ChipKeySource.pool(pool).ecKey(.brainpoolP256r1, record: "x", purpose: "CA")
            points.insert(try key.ecPublicPoint())
        }
        #expect(points.count == 3)
        let rsa = try ChipKeySource.pool(pool).rsaKey(bits: 1024, record: "x", purpose: "AA")
        #expect(rsa.kind == .rsa && rsa.bits == 1024)
        #expect(pool.madeOnDemand == 0 && pool.madeAhead >= 6)
        let other = try pool.take(.ec(.secp256r1))
        #expect(other.curve == .secp256r1 && pool.madeOnDemand == 1)
    }

    @Test("A profile whose chips make their keys needs no pool; jmrtd-applet-td1 gets one for its RSA-1024 key")
    func forProfiles() throws {
        #expect(ChipKeyPool(profile: .vietnamese2021) == nil)
        let jmrtd = try CardProfile(nameOrPath: "jmrtd-applet-td1")
        let pool = try #require(ChipKeyPool(profile: jmrtd, depth: 1))
        defer { pool.stop() }
        #expect(try pool.take(.rsa(bits: 1024)).bits == 1024)
    }
}
