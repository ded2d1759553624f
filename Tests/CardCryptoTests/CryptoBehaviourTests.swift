import CardCore
import CardCrypto
import TestSupport
import Testing

@Suite("Cipher, MAC and padding behaviour")
struct CryptoBehaviourTests {
    @Test("Wrong key lengths are refused with a typed error")
    func keyLengths() {
        #expect(throws: CryptoError.self) {
            try BlockCipher(.aes128, mode: .ecb, key: [UInt8](repeating: 0, count: 15))
        }
        #expect(throws: CryptoError.self) {
            try BlockCipher(.tripleDES2Key, mode: .cbc, key: [UInt8](repeating: 0, count: 24))
        }
        #expect(throws: CryptoError.self) { try RetailMAC(key: [UInt8](repeating: 0, count: 8)) }
        #expect(throws: CryptoError.self) { try CMAC(key: [UInt8](repeating: 0, count: 10)) }
    }

    @Test("Partial blocks and bad IVs are refused")
    func partialBlocks() throws {
        let aes = try BlockCipher(.aes128, mode: .cbc, key: [UInt8](repeating: 1, count: 16))
        #expect(throws: CryptoError.self) { try aes.encrypt([1, 2, 3]) }
        #expect(throws: CryptoError.self) { try aes.encrypt([UInt8](repeating: 0, count: 16), iv: [0]) }
        #expect(try aes.encrypt([UInt8]()) == [])
        let mac = try RetailMAC(key: [UInt8](repeating: 1, count: 16))
        #expect(throws: CryptoError.self) { try mac.mac(padded: [1, 2, 3]) }
    }

    @Test("Padding method 2 round trip and rejection", arguments: [0, 1, 7, 8, 15, 16, 17])
    func padding(_ length: Int) throws {
        var rng = SeededGenerator(seed: UInt64(length))
        let data = rng.bytes(length).map { $0 == 0x80 ? 0x7F : $0 }
        for block in [8, 16] {
            let padded = ISO9797Padding.pad(data, blockSize: block)
            #expect(padded.count % block == 0 && padded.count > data.count)
            #expect(try ISO9797Padding.unpad(padded) == data)
        }
        #expect(throws: CryptoError.self) { try ISO9797Padding.unpad([0x01, 0x00, 0x00]) }
        #expect(throws: CryptoError.self) { try ISO9797Padding.unpad([UInt8]()) }
    }

    @Test("Random bytes differ and have the asked length")
    func random() throws {
        let a = try SecureRandom.bytes(32)
        let b = try SecureRandom.bytes(32)
        #expect(a.count == 32 && b.count == 32 && a != b)
    }

    @Test("Constant-time comparison")
    func constantTime() {
        #expect(constantTimeEquals([1, 2, 3], [1, 2, 3]))
        #expect(!constantTimeEquals([1, 2, 3], [1, 2, 4]))
        #expect(!constantTimeEquals([1, 2, 3], [1, 2]))
    }
}
