import CardCore
import CardCrypto
import TestSupport
import Testing

@testable import ChipAccess

@Suite("BAC: ICAO 9303-11 Appendix D")
struct BACTests {
    let d: VectorFile
    init() throws { d = try VectorFile("icao9303-p11-appD-bac-keys-and-mutual-auth.txt") }

    var key: BACKey {
        get throws {
            let s = try d.section(with: "document_number")
            return BACKey(
                documentNumber: try s.text("document_number"), dateOfBirth: try s.text("date_of_birth"),
                dateOfExpiry: try s.text("date_of_expiry"))
        }
    }

    @Test("D.1/D.2: MRZ information, K_seed, K_Enc, K_MAC")
    func keys() throws {
        let key = try self.key
        #expect(key.mrzInformation == (try d.section(with: "MRZ_information").text("MRZ_information")))
        #expect(Array(key.mrzInformation.utf8) == (try d.hex("MRZ_information_hex")))
        #expect(HashAlgorithm.sha1.hash(Array(key.mrzInformation.utf8)) == (try d.hex("SHA1_MRZ_information")))
        #expect(BAC.keySeed(key) == (try d.hex("Kseed")))
        #expect(
            HashAlgorithm.sha1.hash(BAC.keySeed(key) + [0, 0, 0, 1]) == (try d.hex("SHA1_Kseed_00000001_before_parity"))
        )
        let (kEnc, kMac) = BAC.documentKeys(key)
        #expect(kEnc == (try d.hex("KEnc")))
        #expect(kMac == (try d.hex("KMAC")))
        #expect(!"\(key)".contains("L898902C"))
    }

    @Test("D.3 terminal role: the exact APDUs, session keys and SSC")
    func terminal() throws {
        let transport = ScriptedTransport([
            .init(command: try d.hex("GET_CHALLENGE_cmd"), response: try d.hex("GET_CHALLENGE_resp")),
            .init(command: try d.hex("EXTERNAL_AUTHENTICATE_cmd"), response: try d.hex("EXTERNAL_AUTHENTICATE_resp")),
        ])
        let random = FixedRandom([try d.hex("RND_IFD"), try d.hex("K_IFD")])
        let session = try BAC.authenticate(transport, key: try key, random: random)
        #expect(transport.isFinished)
        #expect(session.sendSequenceCounter == (try d.hex("SSC")))
        #expect(BAC.initialSSC(rndIC: try d.hex("RND_IC"), rndIFD: try d.hex("RND_IFD")) == (try d.hex("SSC")))
        // Intermediate values: S, E_IFD, M_IFD, R, K_IC, KSseed, KSEnc, KSMAC.
        #expect(try d.hex("RND_IFD") + d.hex("RND_IC") + d.hex("K_IFD") == d.hex("S"))
        let (kEnc, kMac) = BAC.documentKeys(try key)
        let enc = try BlockCipher(.tripleDES2Key, mode: .cbc, key: kEnc)
        #expect(try enc.encrypt(d.hex("S")) == d.hex("E_IFD"))
        #expect(try RetailMAC(key: kMac).mac(d.hex("E_IFD")) == d.hex("M_IFD"))
        #expect(try d.hex("E_IFD") + d.hex("M_IFD") == d.hex("cmd_data"))
        #expect(try enc.decrypt(d.hex("E_IC")) == d.hex("R_decrypted"))
        #expect(try Array(d.hex("R_decrypted")[16...]) == d.hex("K_IC"))
        let seed = zip(try d.hex("K_IFD"), try d.hex("K_IC")).map { $0 ^ $1 }
        #expect(seed == (try d.hex("KSseed")))
        #expect(KeyDerivation.derive(seed, counter: 1, cipher: .tripleDES) == (try d.hex("KSEnc")))
        #expect(KeyDerivation.derive(seed, counter: 2, cipher: .tripleDES) == (try d.hex("KSMAC")))
    }

    @Test("D.3 chip role: the chip's answer to EXTERNAL AUTHENTICATE is the published one")
    func chip() throws {
        let chip = try BACChip(key: try key, random: FixedRandom([try d.hex("RND_IC"), try d.hex("K_IC")]))
        #expect(try chip.getChallenge() == d.hex("RND_IC"))
        let (response, session) = try chip.externalAuthenticate(try d.hex("cmd_data"))
        #expect(response == (try d.hex("E_IC") + d.hex("M_IC")))
        #expect(session.sendSequenceCounter == (try d.hex("SSC")))
    }

    @Test("Wrong MRZ: the chip refuses with 6300 and the terminal says wrong MRZ key")
    func wrongKey() throws {
        let good = try key
        let chip = try BACChip(key: good)
        let wrong = BACKey(documentNumber: "L898902C", dateOfBirth: "690807", dateOfExpiry: good.dateOfExpiry)
        final class ChipTransport: CardTransport {
            let chip: BACChip
            init(_ chip: BACChip) { self.chip = chip }
            var capabilities: TransportCapabilities { .init() }
            func transmit(_ command: CommandAPDU) throws -> ResponseAPDU {
                if command.ins == 0x84 { return ResponseAPDU(data: try chip.getChallenge(), statusWord: .success) }
                do {
                    return ResponseAPDU(
                        data: try chip.externalAuthenticate(command.data).response, statusWord: .success)
                } catch let error as AccessControlError {
                    return ResponseAPDU(statusWord: error.statusWord ?? .verificationFailed)
                }
            }
        }
        do {
            _ = try BAC.authenticate(ChipTransport(chip), key: wrong)
            Issue.record("wrong key accepted")
        } catch let error as AccessControlError {
            #expect(error.code == .wrongPassword)
            #expect(error.statusWord == .verificationFailed)
            #expect("\(error)" == "BAC failed: wrong MRZ key (document number, birth or expiry date) (6300)")
        }
        // The right key against the same chip works.
        let session = try BAC.authenticate(ChipTransport(chip), key: good)
        #expect(!session.isEnded)
    }

    @Test("Check digits (ICAO 9303-3 §4.9)")
    func checkDigits() {
        #expect(CheckDigit.compute("L898902C<") == 3)
        #expect(CheckDigit.compute("690806") == 1)
        #expect(CheckDigit.compute("940623") == 6)
        #expect(CheckDigit.compute("abc") == nil)
    }
}
