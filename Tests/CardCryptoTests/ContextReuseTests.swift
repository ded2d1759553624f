import CardCrypto
import TestSupport
import Testing

/// The secure-messaging fast paths keep OpenSSL contexts across messages: a CBC context gets each new IV applied to
/// the first block (its chain is known) instead of a re-initialisation, and the AES-CMAC of padded input is one CBC
/// pass. Each is held to a fresh context, message by message, over long random sequences.
@Suite("Context reuse: one context per key, exact as a fresh one")
struct ContextReuseTests {
    static let ciphers: [(CipherAlgorithm, Int)] = [
        (.aes128, 16), (.aes192, 24), (.aes256, 32), (.tripleDES2Key, 16), (.tripleDES3Key, 24),
    ]

    @Test(
        "CBC: 400 random encryptions, padded encryptions and decryptions with random IVs on one object equal a fresh object each",
        arguments: 0..<5)
    func cbcChain(_ index: Int) throws {
        let (algorithm, keyLength) = Self.ciphers[index]
        var random = SeededGenerator(seed: UInt64(0xC0FFEE + index))
        let key = random.bytes(keyLength)
        let reused = try BlockCipher(algorithm, mode: .cbc, key: key)
        let bs = algorithm.blockSize
        for step in 0..<400 {
            let fresh = try BlockCipher(algorithm, mode: .cbc, key: key)
            let iv: [UInt8]? = Bool.random(using: &random) ? random.bytes(bs) : nil
            switch Int.random(in: 0..<3, using: &random) {
            case 0:
                let plain = random.bytes(bs * Int.random(in: 1...40, using: &random))
                #expect(try reused.encrypt(plain, iv: iv) == (try fresh.encrypt(plain, iv: iv)), "step \(step)")
            case 1:
                let plain = random.bytes(Int.random(in: 0...300, using: &random))
                var a: [UInt8] = [0xAA]
                var b: [UInt8] = [0xAA]
                try reused.encryptPadded(plain[...], iv: iv, appendingTo: &a)
                try fresh.encryptPadded(plain[...], iv: iv, appendingTo: &b)
                #expect(a == b, "step \(step)")
                #expect(try fresh.encrypt(ISO9797Padding.pad(plain, blockSize: bs), iv: iv) == Array(b.dropFirst()))
            default:
                let cryptogram = random.bytes(bs * Int.random(in: 1...40, using: &random))
                #expect(
                    try reused.decrypt(cryptogram[...], iv: iv) == (try fresh.decrypt(cryptogram[...], iv: iv)),
                    "step \(step)")
            }
        }
    }

    @Test("A wrong IV length is refused, and the context stays exact afterwards")
    func wrongIV() throws {
        let key = [UInt8](repeating: 7, count: 16)
        let cbc = try BlockCipher(.aes128, mode: .cbc, key: key)
        #expect(throws: CryptoError.self) { _ = try cbc.encrypt([UInt8](repeating: 1, count: 32), iv: [1, 2, 3]) }
        let plain = [UInt8](repeating: 1, count: 32)
        let iv = [UInt8](repeating: 9, count: 16)
        #expect(try cbc.encrypt(plain, iv: iv) == (try BlockCipher(.aes128, mode: .cbc, key: key).encrypt(plain, iv: iv)))
    }

    @Test("PaddedCMAC equals EVP_MAC's CMAC of the padded input, for every length 0…300 and split, AES-128/192/256")
    func paddedCMAC() throws {
        var random = SeededGenerator(seed: 4493)
        for keyLength in [16, 24, 32] {
            let key = random.bytes(keyLength)
            let fast = try PaddedCMAC(key: key)
            let reference = try CMAC(key: key)
            for length in 0...300 {
                let message = random.bytes(length)
                let cut = Int.random(in: 0...length, using: &random)
                let expected = reference.authenticate(ISO9797Padding.pad(message, blockSize: 16))
                #expect(try fast.authenticate(padded: [message[..<cut], message[cut...]]) == expected, "\(length)")
                // The secure-messaging form: SSC, the header padded to a block, the objects.
                let ssc = random.bytes(16)
                let header = random.bytes(4)
                let n = ssc + ISO9797Padding.pad(header, blockSize: 16) + message
                let sm = try fast.authenticate(
                    prefix: ssc, header: (header[0], header[1], header[2], header[3]), objects: message[...], length: 8)
                #expect(sm == Array(reference.authenticate(ISO9797Padding.pad(n, blockSize: 16)).prefix(8)))
            }
        }
    }

    @Test("PaddedCMAC against RFC 4493: example 2's block with its padding block is the CMAC of both blocks")
    func paddedCMACKnownAnswer() throws {
        let file = try VectorFile("rfc4493-aes-cmac.txt")
        let key = try file.hex("K")
        let m2 = try file.section(titled: "Example 2").hex("M")
        // pad(M2) = M2 ‖ 80 00 … 00: a two-block message, so the EVP CMAC's K1 path and ours must agree.
        let expected = try CMAC(key: key).authenticate(m2 + [0x80] + [UInt8](repeating: 0, count: 15))
        #expect(try PaddedCMAC(key: key).authenticate(padded: [m2[...]]) == expected)
        #expect(try CMAC(key: key).authenticate(m2) == (try file.section(titled: "Example 2").hex("T")))
    }
}
