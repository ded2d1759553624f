import CardCore
import CardCrypto
import TestSupport
import Testing

@Suite("Known answers: NIST SP 800-38A / 800-67, RFC 4493, FIPS 180-4")
struct KnownAnswerTests {
    static let aesSections = ["AES128", "AES192", "AES256"]

    @Test("AES ECB and CBC, SP 800-38A F.1/F.2", arguments: aesSections)
    func aesModes(_ name: String) throws {
        let file = try VectorFile("nist-sp800-38a-aes-and-sp800-67-tdea.txt")
        let s = try file.section(titled: name)
        let key = try s.hex("key")
        let algorithm = try CipherAlgorithm.aes(keyLength: key.count)
        let plain = try s.hex("plaintext")
        let ecb = try BlockCipher(algorithm, mode: .ecb, key: key)
        #expect(try ecb.encrypt(plain) == s.hex("ECB_ciphertext"))
        #expect(try ecb.decrypt(s.hex("ECB_ciphertext")) == plain)
        let cbc = try BlockCipher(algorithm, mode: .cbc, key: key)
        #expect(try cbc.encrypt(plain, iv: s.hex("iv")) == s.hex("CBC_ciphertext"))
        #expect(try cbc.decrypt(s.hex("CBC_ciphertext"), iv: s.hex("iv")) == plain)
        // Context reuse: the second message with the same object gives the same answer.
        #expect(try cbc.encrypt(plain, iv: s.hex("iv")) == s.hex("CBC_ciphertext"))
    }

    @Test("3-key TDEA ECB, SP 800-67 App. B; 3-key CBC agrees with chained ECB")
    func tripleDES3Key() throws {
        let s = try VectorFile("nist-sp800-38a-aes-and-sp800-67-tdea.txt").section(titled: "TDEA")
        let key = try s.hex("key")
        let ecb = try BlockCipher(.tripleDES3Key, mode: .ecb, key: key)
        let plain = try s.hex("plaintext")
        let cipher = try s.hex("ECB_ciphertext")
        #expect(try ecb.encrypt(plain) == cipher)
        #expect(try ecb.decrypt(cipher) == plain)
        // CBC with IV 0 on one block equals ECB on that block.
        let cbc = try BlockCipher(.tripleDES3Key, mode: .cbc, key: key)
        #expect(try cbc.encrypt(plain.prefix(8)) == Array(cipher.prefix(8)))
    }

    @Test("2-key 3DES CBC: ICAO 9303-11 App. D.3 E_IFD and R decryption")
    func tripleDES2Key() throws {
        let d = try VectorFile("icao9303-p11-appD-bac-keys-and-mutual-auth.txt")
        let s = try d.section(with: "E_IFD")
        let cipher = try BlockCipher(.tripleDES2Key, mode: .cbc, key: d.hex("KEnc"))
        #expect(try cipher.encrypt(s.hex("S")) == s.hex("E_IFD"))
        #expect(try cipher.decrypt(s.hex("E_IC")) == s.hex("R_decrypted"))
    }

    @Test("AES-CMAC, RFC 4493 examples 1-4", arguments: 1...4)
    func cmac(_ example: Int) throws {
        let file = try VectorFile("rfc4493-aes-cmac.txt")
        let key = try file.hex("K")
        let s = try file.section(titled: "Example \(example)")
        let message = (try? s.hex("M")) ?? []
        #expect(try CMAC(key: key).authenticate(message) == s.hex("T"))
    }

    @Test("RFC 4493 subkey input: AES-128(K, 0^128)")
    func cmacSubkeyInput() throws {
        let file = try VectorFile("rfc4493-aes-cmac.txt")
        let aes = try BlockCipher(.aes128, mode: .ecb, key: file.hex("K"))
        #expect(try aes.encrypt([UInt8](repeating: 0, count: 16)) == file.hex("AES_128_K_0"))
    }

    @Test("SHA family, FIPS 180-4 examples", arguments: HashAlgorithm.allCases)
    func sha(_ algorithm: HashAlgorithm) throws {
        let file = try VectorFile("fips180-4-sha.txt")
        let key = "\(algorithm)"
        var checked = 0
        for section in file.sections {
            let message = section.find("message")?.value == "(empty)" ? [] : try section.hex("message")
            let expected = try section.hex(key)
            #expect(algorithm.hash(message) == expected)
            #expect(expected.count == algorithm.digestLength)
            // Incremental hashing in two parts agrees.
            let context = DigestContext(algorithm)
            context.update(message.prefix(1))
            context.update(message.dropFirst())
            #expect(context.finish() == expected)
            checked += 1
        }
        #expect(checked == 3)
    }

    @Test("Retail MAC (ISO 9797-1 alg. 3): ICAO 9303-11 App. D.3 M_IFD = 5F1448EEA8AD90A7 over padded E_IFD")
    func retailMAC() throws {
        let d = try VectorFile("icao9303-p11-appD-bac-keys-and-mutual-auth.txt")
        let s = try d.section(with: "E_IFD")
        let mac = try RetailMAC(key: d.hex("KMAC"))
        #expect(try mac.mac(s.hex("E_IFD")) == s.hex("M_IFD"))
        #expect(try mac.mac(s.hex("E_IFD")) == Hex.decode("5F1448EEA8AD90A7"))
        #expect(try mac.mac(s.hex("E_IC")) == s.hex("M_IC"))
    }

    @Test("Retail MAC: App. D.4 SM checksums over N")
    func retailMACSecureMessaging() throws {
        let file = try VectorFile("icao9303-p11-appD4-bac-3des-secure-messaging.txt")
        let mac = try RetailMAC(key: file.hex("KSMAC"))
        var checked = 0
        for section in file.sections where section.has("N") {
            #expect(try mac.mac(padded: section.hex("N")) == section.hex("CC"))
            checked += 1
        }
        #expect(checked == 3)
    }

    @Test("DES parity adjustment: App. D.1 KEnc from SHA-1 output")
    func desParity() throws {
        let d = try VectorFile("icao9303-p11-appD-bac-keys-and-mutual-auth.txt")
        let raw = try d.hex("SHA1_Kseed_00000001_before_parity")
        #expect(DESParity.adjusted(raw.prefix(16)) == (try d.hex("KEnc")))
        for byte in DESParity.adjusted((0...255).map { UInt8($0) }) { #expect(byte.nonzeroBitCount % 2 == 1) }
    }
}
