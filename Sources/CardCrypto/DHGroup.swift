import COpenSSL

/// The standardized DH groups of PACE (ICAO 9303-11 §9.5.1): RFC 5114 §2.1–2.3, parameter ids 0, 1, 2.
/// Values are RFC 5114's (as OpenSSL ships them as dh_1024_160, dh_2048_224, dh_2048_256).
public struct DHGroup: Hashable, Sendable {
    public let p: [UInt8]
    public let q: [UInt8]
    public let g: [UInt8]
    /// The standardized domain parameter id, when the group is one.
    public let parameterID: Int?

    public init(p: [UInt8], q: [UInt8], g: [UInt8], parameterID: Int? = nil) {
        self.p = p
        self.q = q
        self.g = g
        self.parameterID = parameterID
    }

    /// Bytes in an element (128 for a 1024-bit group).
    public var elementLength: Int { p.count }

    public static func standardized(_ id: Int) -> DHGroup? {
        switch id {
        case 0: return rfc5114_1024_160
        case 1: return rfc5114_2048_224
        case 2: return rfc5114_2048_256
        default: return nil
        }
    }

    /// g^x mod p, as a fixed-length element.
    public func power(_ base: [UInt8], _ exponent: [UInt8]) throws(CryptoError) -> [UInt8] {
        try BigNumber(base).modExp(BigNumber(exponent), BigNumber(p)).bytes(length: elementLength)
    }

    /// a · b mod p.
    public func multiply(_ a: [UInt8], _ b: [UInt8]) throws(CryptoError) -> [UInt8] {
        try BigNumber(a).modMul(BigNumber(b), BigNumber(p)).bytes(length: elementLength)
    }

    /// True for an element y with 1 < y < p − 1 and y^q = 1 (a member of the prime-order subgroup).
    public func isValidElement(_ y: [UInt8]) -> Bool {
        let Y = BigNumber(y)
        let P = BigNumber(p)
        guard Y > BigNumber(1), Y < P.subtracting(BigNumber(1)) else { return false }
        return (try? Y.modExp(BigNumber(q), P).isOne) ?? false
    }

    /// The sizes a group from card data may have: p of 1024–4096 bits, q of 160–512 bits (ICAO 9303-11 and
    /// BSI TR-03110 use 1024/160, 2048/224 and 2048/256). Larger values would let a card make the terminal
    /// compute for minutes.
    public static let primeBits = 1024...4096
    public static let orderBits = 160...512

    /// A group from untrusted data (DG14, EF.CardAccess): the standardized group when it is one; otherwise
    /// checked: sizes within `primeBits` / `orderBits`, p odd, q | p − 1, 1 < g < p − 1 and g^q = 1 mod p.
    /// Throws with the reason; never traps and never runs longer than a few modular exponentiations.
    public static func validated(p rawP: [UInt8], q rawQ: [UInt8], g rawG: [UInt8]) throws(CryptoError) -> DHGroup {
        let p = Array(rawP.drop { $0 == 0 })
        let q = Array(rawQ.drop { $0 == 0 })
        let g = Array(rawG.drop { $0 == 0 })
        for id in 0...2 {
            if let s = standardized(id), s.p == p, s.q == q, Array(s.g.drop { $0 == 0 }) == g { return s }
        }
        func invalid(_ reason: String) -> CryptoError { CryptoError(code: .invalidKey, reason: "DH domain: \(reason)") }
        let P = BigNumber(p)
        let Q = BigNumber(q)
        guard primeBits.contains(P.bitCount) else {
            throw invalid("p of \(P.bitCount) bits is outside \(primeBits.lowerBound)–\(primeBits.upperBound)")
        }
        guard orderBits.contains(Q.bitCount) else {
            throw invalid("q of \(Q.bitCount) bits is outside \(orderBits.lowerBound)–\(orderBits.upperBound)")
        }
        guard p.last.map({ $0 & 1 == 1 }) == true else { throw invalid("p is even") }
        let pMinusOne = P.subtracting(BigNumber(1))
        guard try pMinusOne.isDivisible(by: Q) else { throw invalid("q does not divide p − 1") }
        let G = BigNumber(g)
        guard G > BigNumber(1), G < pMinusOne, try G.modExp(Q, P).isOne else {
            throw invalid("g does not generate a subgroup of order q")
        }
        return DHGroup(p: p, q: q, g: [UInt8](repeating: 0, count: p.count - g.count) + g)
    }

    /// A random exponent in [1, q).
    public func randomExponent() throws(CryptoError) -> [UInt8] { try BigNumber.random(below: BigNumber(q)).bytes() }

    public static let rfc5114_1024_160 = DHGroup(
        p: hex(
            "B10B8F96A080E01DDE92DE5EAE5D54EC52C99FBCFB06A3C69A6A9DCA52D23B616073E28675A23D189838EF1E2EE652C0",
            "13ECB4AEA906112324975C3CD49B83BFACCBDD7D90C4BD7098488E9C219A73724EFFD6FAE5644738FAA31A4FF55BCCC0",
            "A151AF5F0DC8B4BD45BF37DF365C1A65E68CFDA76D4DA708DF1FB2BC2E4A4371"),
        q: hex(
            "F518AA8781A8DF278ABA4E7D64B7CB9D49462353"),
        g: hex(
            "A4D1CBD5C3FD34126765A442EFB99905F8104DD258AC507FD6406CFF14266D31266FEA1E5C41564B777E690F5504F213",
            "160217B4B01B886A5E91547F9E2749F4D7FBD7D3B9A92EE1909D0D2263F80A76A6A24C087A091F531DBF0A0169B6A28A",
            "D662A4D18E73AFA32D779D5918D08BC8858F4DCEF97C2A24855E6EEB22B3B2E5"),
        parameterID: 0)

    public static let rfc5114_2048_224 = DHGroup(
        p: hex(
            "AD107E1E9123A9D0D660FAA79559C51FA20D64E5683B9FD1B54B1597B61D0A75E6FA141DF95A56DBAF9A3C407BA1DF15",
            "EB3D688A309C180E1DE6B85A1274A0A66D3F8152AD6AC2129037C9EDEFDA4DF8D91E8FEF55B7394B7AD5B7D0B6C12207",
            "C9F98D11ED34DBF6C6BA0B2C8BBC27BE6A00E0A0B9C49708B3BF8A317091883681286130BC8985DB1602E714415D9330",
            "278273C7DE31EFDC7310F7121FD5A07415987D9ADC0A486DCDF93ACC44328387315D75E198C641A480CD86A1B9E587E8",
            "BE60E69CC928B2B9C52172E413042E9B23F10B0E16E79763C9B53DCF4BA80A29E3FB73C16B8E75B97EF363E2FFA31F71",
            "CF9DE5384E71B81C0AC4DFFE0C10E64F"),
        q: hex(
            "801C0D34C58D93FE997177101F80535A4738CEBCBF389A99B36371EB"),
        g: hex(
            "AC4032EF4F2D9AE39DF30B5C8FFDAC506CDEBE7B89998CAF74866A08CFE4FFE3A6824A4E10B9A6F0DD921F01A70C4AFA",
            "AB739D7700C29F52C57DB17C620A8652BE5E9001A8D66AD7C17669101999024AF4D027275AC1348BB8A762D0521BC98A",
            "E247150422EA1ED409939D54DA7460CDB5F6C6B250717CBEF180EB34118E98D119529A45D6F834566E3025E316A330EF",
            "BB77A86F0C1AB15B051AE3D428C8F8ACB70A8137150B8EEB10E183EDD19963DDD9E263E4770589EF6AA21E7F5F2FF381",
            "B539CCE3409D13CD566AFBB48D6C019181E1BCFE94B30269EDFE72FE9B6AA4BD7B5A0F1C71CFFF4C19C418E1F6EC0179",
            "81BC087F2A7065B384B890D3191F2BFA"),
        parameterID: 1)

    public static let rfc5114_2048_256 = DHGroup(
        p: hex(
            "87A8E61DB4B6663CFFBBD19C651959998CEEF608660DD0F25D2CEED4435E3B00E00DF8F1D61957D4FAF7DF4561B2AA30",
            "16C3D91134096FAA3BF4296D830E9A7C209E0C6497517ABD5A8A9D306BCF67ED91F9E6725B4758C022E0B1EF4275BF7B",
            "6C5BFC11D45F9088B941F54EB1E59BB8BC39A0BF12307F5C4FDB70C581B23F76B63ACAE1CAA6B7902D52526735488A0E",
            "F13C6D9A51BFA4AB3AD8347796524D8EF6A167B5A41825D967E144E5140564251CCACB83E6B486F6B3CA3F7971506026",
            "C0B857F689962856DED4010ABD0BE621C3A3960A54E710C375F26375D7014103A4B54330C198AF126116D2276E11715F",
            "693877FAD7EF09CADB094AE91E1A1597"),
        q: hex(
            "8CF83642A709A097B447997640129DA299B1A47D1EB3750BA308B0FE64F5FBD3"),
        g: hex(
            "3FB32C9B73134D0B2E77506660EDBD484CA7B18F21EF205407F4793A1A0BA12510DBC15077BE463FFF4FED4AAC0BB555",
            "BE3A6C1B0C6B47B1BC3773BF7E8C6F62901228F8C28CBB18A55AE31341000A650196F931C77A57F2DDF463E5E9EC144B",
            "777DE62AAAB8A8628AC376D282D6ED3864E67982428EBC831D14348F6F2F9193B5045AF2767164E1DFC967C1FB3F2E55",
            "A4BD1BFFE83B9C80D052B985D182EA0ADB2A3B7313D3FE14C8484B1E052588B9B7D2BBD2DF016199ECD06E1557CD0915",
            "B3353BBB64E0EC377FD028370DF92B52C7891428CDC67EB6184B523D1DB246C32F63078490F00EF8D647D148D4795451",
            "5E2327CFEF98C582664B4C0F6CC41659"),
        parameterID: 2)

    private static func hex(_ parts: String...) -> [UInt8] {
        let text = Array(parts.joined().utf8)
        func nibble(_ c: UInt8) -> UInt8 { c <= 57 ? c - 48 : c - 55 }
        return stride(from: 0, to: text.count, by: 2).map { nibble(text[$0]) << 4 | nibble(text[$0 + 1]) }
    }
}
