import CardCore
import CardCrypto
import CardEmulator
import ChipAccess
import ChipImage
import Foundation
import LDS
import Personalization
import Reader
import TestSupport
import Testing
import Verification

/// Crafted cards, each made as an attacker (or a broken issuer) would, each with the answer it must get.
enum ForgedCard: String, CaseIterable, Sendable, CustomStringConvertible {
    // Clones: the files copied, the private keys not.
    case cloneHidingDG14AndDG15 = "a clone whose EF.COM leaves out DG14 and DG15"
    case cloneWithoutDG14AndDG15 = "a clone with DG14 and DG15 removed from the chip and from EF.COM"
    case camCloneHidingDG14 = "a clone offering PACE-CAM, DG14 hidden"
    case cloneWithAllFiles = "a clone with every file (chip keys not those of DG14/DG15)"
    // Signers.
    case selfMadeSignerWithoutTrust = "a card signed by a self-made issuer, read without --trust"
    case selfMadeSignerWithTrust = "a card signed by a self-made issuer, read trusting the real CSCA"
    case signerOutsideValidity = "a document signer certificate outside its validity"
    case signerIsCA = "a document signer certificate with basicConstraints CA:TRUE (made by openssl)"
    case signedByCSCA = "EF.SOD signed with the CSCA's own key and certificate"
    case signerIsMasterListSigner = "a document signer certificate whose extKeyUsage makes it a master list signer"
    // Data groups.
    case dg1BadCheckDigit = "DG1 with a bad check digit, signed"
    case dg1Of89Characters = "DG1 of 89 characters, signed"
    case dg1WithFFBytes = "DG1 with 0xFF bytes, signed"
    case swappedDataGroups = "DG2 and DG13 swapped"
    case listedButAbsent = "DG13 listed in EF.SOD but absent from the chip"
    case tamperedDG13 = "DG13 changed after signing"
    case hugeDG13Name = "a DG13 name of 20,000 words, signed"
    case missingSOD = "no EF.SOD"
    case garbageSOD = "EF.SOD of random bytes"
    case hugeFile = "DG2 announcing 32 MiB"
    // Chip keys.
    case dg14KeyOffCurve = "a DG14 key off its curve, signed"
    case dg14DHZeroQ = "a DG14 DH key whose domain has q = 0, signed"
    case dg14DHHugeQ = "a DG14 DH key with a 2047-bit q, signed"
    case dg14Garbage = "DG14 that does not parse, signed"
    case dg15RSA512 = "an RSA-512 AA key in DG15, signed"
    case dg15Garbage = "DG15 that does not parse, signed"
    // Cards that are genuine although they look odd.
    case dg14HiddenFromCOM = "a genuine card whose EF.COM does not list DG14"
    case malformedCOM = "a genuine card with a malformed EF.COM"
    case unsignedExtraInCOM = "a genuine card whose EF.COM lists an unsigned DG11"
    case unsortedCardAccess = "a genuine card whose EF.CardAccess SET OF is not in DER order"
    case expired = "a genuine card that has expired"
    case signerWithoutKeyUsage = "a genuine card whose document signer certificate has no keyUsage (made by openssl)"

    var description: String { rawValue }

    /// What the read must conclude.
    var expected: Assessment.Authenticity {
        switch self {
        case .selfMadeSignerWithoutTrust: return .signerUnverified
        case .dg14HiddenFromCOM, .malformedCOM, .unsignedExtraInCOM, .unsortedCardAccess, .expired,
            .signerWithoutKeyUsage:
            return .genuine
        default: return .notGenuine
        }
    }

    var trusted: Bool { self != .selfMadeSignerWithoutTrust }

    /// The check that must fail, and a phrase its reason must hold (nil: none in particular).
    var failedCheck: (KeyPath<ReadChecks, Verdict>, String)? {
        switch self {
        case .cloneHidingDG14AndDG15, .cloneWithAllFiles:
            return (\.chipAuthentication, "clone")
        case .cloneWithoutDG14AndDG15, .camCloneHidingDG14: return (\.chipAuthentication, "DG14 is listed in EF.SOD")
        case .selfMadeSignerWithTrust: return (\.passiveAuthentication, "not issued by a trusted CSCA")
        case .signerOutsideValidity: return (\.passiveAuthentication, "expired")
        case .signerIsCA: return (\.passiveAuthentication, "basicConstraints cA TRUE")
        case .signedByCSCA: return (\.passiveAuthentication, "a trusted CSCA's own key")
        case .signerIsMasterListSigner: return (\.passiveAuthentication, "master list signer")
        case .dg1BadCheckDigit: return (\.recordConsistency, "check digit")
        case .dg1Of89Characters: return (\.recordConsistency, "89 characters")
        case .dg1WithFFBytes: return (\.recordConsistency, "DG1")
        case .swappedDataGroups: return (\.passiveAuthentication, "does not match")
        case .listedButAbsent: return (\.recordConsistency, "DG13")
        case .tamperedDG13: return (\.passiveAuthentication, "DG13")
        case .hugeDG13Name: return (\.recordConsistency, "name")
        case .missingSOD: return (\.passiveAuthentication, "no EF.SOD")
        case .garbageSOD: return (\.passiveAuthentication, "EF.SOD")
        case .hugeFile: return nil
        case .dg14KeyOffCurve: return (\.chipAuthentication, "not a point on the curve")
        case .dg14DHZeroQ: return (\.chipAuthentication, "q of 0 bits")
        case .dg14DHHugeQ: return (\.chipAuthentication, "q of 2047 bits")
        case .dg14Garbage: return (\.chipAuthentication, "DG14")
        case .dg15RSA512: return (\.activeAuthentication, "512 bits")
        case .dg15Garbage: return (\.activeAuthentication, "DG15")
        case .selfMadeSignerWithoutTrust, .dg14HiddenFromCOM, .malformedCOM, .unsignedExtraInCOM,
            .unsortedCardAccess, .expired, .signerWithoutKeyUsage:
            return nil
        }
    }

    /// The date the read is checked against.
    var today: CalendarDate { self == .expired ? CalendarDate(year: 2031, month: 1, day: 1)! : Forge.today }

    func make() throws -> (Forge, CardImage) {
        switch self {
        case .camCloneHidingDG14:
            let forge = try Forge(cam: true)
            var clone = forge.changing([.dataGroup(14): nil, .com: Forge.com([1, 2, 3, 13, 15])])
            clone.secrets.chipAuthenticationKey = try AsymmetricKey.generateEC(.brainpoolP256r1).privateKeyDER()
            return (forge, clone)
        case .unsortedCardAccess:
            let forge = try Forge()
            // The CCCD's own EF.CardAccess with its three SecurityInfos in reverse order (BER allows it).
            let infos = try members(of: SampleCard.vietnameseCardAccess)
            let reversed = TLVWriter.encode(tag: 0x31, value: Array(infos.reversed().joined()))
            return (forge, forge.changing([.cardAccess: reversed]))
        case .expired:
            let forge = try Forge()
            return (forge, forge.image)
        default: break
        }
        let forge = try Forge()
        let image = forge.image
        let files = image.lDSFiles
        func content(_ file: LDSFile) throws -> [UInt8] { try #require(files[file]) }
        func otherKeys(_ image: CardImage) throws -> CardImage {
            var clone = image
            clone.secrets.chipAuthenticationKey = try AsymmetricKey.generateEC(.brainpoolP256r1).privateKeyDER()
            clone.secrets.activeAuthenticationKey = try AsymmetricKey.generateRSA(bits: 2048).privateKeyDER()
            return clone
        }
        func dg14(_ keyInfo: [UInt8], agreement: KeyAgreementKind = .ecdh) throws -> [UInt8] {
            try DataGroup14(
                securityInfos: SecurityInfos([
                    .chipAuthentication(
                        ChipAuthenticationInfo(
                            protocol: ChipAuthenticationProtocol(agreement: agreement, cipher: .aes128), version: 1)),
                    .chipAuthenticationPublicKey(
                        ChipAuthenticationPublicKeyInfo(
                            protocolOID: ObjectIdentifiers.publicKey + [agreement == .ecdh ? 2 : 1],
                            subjectPublicKeyInfo: keyInfo)),
                ])
            ).encoded()
        }
        let rfc = DHGroup.rfc5114_2048_256
        switch self {
        case .cloneHidingDG14AndDG15:
            return (forge, try otherKeys(forge.changing([.com: Forge.com([1, 2, 3, 13])])))
        case .cloneWithoutDG14AndDG15:
            return (
                forge,
                try otherKeys(forge.changing([.dataGroup(14): nil, .dataGroup(15): nil, .com: Forge.com([1, 2, 3, 13])]))
            )
        case .cloneWithAllFiles:
            return (forge, try otherKeys(image))
        case .selfMadeSignerWithoutTrust, .selfMadeSignerWithTrust:
            return (forge, try forge.resigned([:], signer: try Issuer(dsSerial: 7).signer))
        case .signerOutsideValidity:
            let dsKey = try AsymmetricKey.generateEC(.brainpoolP256r1)
            let ds = try Certificate.create(
                subjectKey: dsKey, issuerKey: forge.issuer.cscaKey, issuer: forge.issuer.csca,
                distinguishedName: "C=VN,O=Test,CN=DS expired", serial: 5, notBeforeOffset: -86400 * 400,
                validity: 86400 * 30, isCA: false, hash: .sha384)
            return (forge, try forge.resigned([:], signer: DocumentSigner(certificate: ds, key: dsKey)))
        case .signerIsCA:
            let ds = try Forge.opensslSigner(
                issuer: forge.issuer, extensions: ["basicConstraints=critical,CA:TRUE", "keyUsage=critical,digitalSignature"])
            return (forge, try forge.resigned([:], signer: ds))
        case .signedByCSCA:
            let csca = DocumentSigner(certificate: forge.issuer.csca, key: forge.issuer.cscaKey)
            return (forge, try forge.resigned([:], signer: csca))
        case .signerIsMasterListSigner:
            let ds = try Forge.opensslSigner(
                issuer: forge.issuer, extensions: ["keyUsage=critical,digitalSignature", "extendedKeyUsage=2.23.136.1.1.3"])
            return (forge, try forge.resigned([:], signer: ds))
        case .signerWithoutKeyUsage:
            let ds = try Forge.opensslSigner(issuer: forge.issuer, extensions: [])
            return (forge, try forge.resigned([:], signer: ds))
        case .dg1BadCheckDigit:
            var text = try DataGroup1(bytes: try content(.dataGroup(1))).mrz.lines.joined()
            let index = text.index(text.startIndex, offsetBy: 14)  // the document number's check digit
            text.replaceSubrange(index...index, with: text[index] == "1" ? "2" : "1")
            return (forge, try forge.resigned([.dataGroup(1): Self.dg1(Array(text.utf8))]))
        case .dg1Of89Characters:
            let text = try DataGroup1(bytes: try content(.dataGroup(1))).mrz.lines.joined()
            return (forge, try forge.resigned([.dataGroup(1): Self.dg1(Array(text.utf8.dropLast()))]))
        case .dg1WithFFBytes:
            return (forge, try forge.resigned([.dataGroup(1): Self.dg1([UInt8](repeating: 0xFF, count: 90))]))
        case .swappedDataGroups:
            return (
                forge,
                forge.changing([.dataGroup(2): try content(.dataGroup(13)), .dataGroup(13): try content(.dataGroup(2))])
            )
        case .listedButAbsent:
            return (forge, forge.changing([.dataGroup(13): nil, .com: Forge.com([1, 2, 3, 14, 15])]))
        case .tamperedDG13:
            var dg13 = try DataGroup13(bytes: try content(.dataGroup(13)))
            dg13.placeOfResidence = "Somewhere else"
            return (forge, forge.changing([.dataGroup(13): dg13.encoded]))
        case .hugeDG13Name:
            var dg13 = try DataGroup13(bytes: try content(.dataGroup(13)))
            dg13.fullName = Array(repeating: "Nguyễn", count: 20_000).joined(separator: " ")
            return (forge, try forge.resigned([.dataGroup(13): dg13.encoded]))
        case .missingSOD:
            return (forge, forge.changing([.sod: nil]))
        case .garbageSOD:
            var rng = SeededGenerator(seed: 77)
            return (forge, forge.changing([.sod: TLVWriter.encode(tag: 0x77, value: rng.bytes(900))]))
        case .hugeFile:
            return (
                forge,
                forge.changing([.dataGroup(2): [0x75, 0x84, 0x02, 0x00, 0x00, 0x00] + [UInt8](repeating: 1, count: 64)])
            )
        case .dg14KeyOffCurve:
            let key = try PublicKeyInfo.encodeEC(
                curve: .brainpoolP256r1, point: [0x04] + [UInt8](repeating: 0x01, count: 64))
            return (forge, try forge.resigned([.dataGroup(14): try dg14(key)]))
        case .dg14DHZeroQ:
            let key = try PublicKeyInfo.encodeDH(group: DHGroup(p: rfc.p, q: [0], g: rfc.g), y: rfc.g)
            return (forge, try forge.resigned([.dataGroup(14): try dg14(key, agreement: .dh)]))
        case .dg14DHHugeQ:
            let pMinusOne = BigNumber(rfc.p).subtracting(BigNumber(1))
            let q = try pMinusOne.dividing(BigNumber(2)).bytes()
            let key = try PublicKeyInfo.encodeDH(group: DHGroup(p: rfc.p, q: q, g: rfc.g), y: rfc.g)
            return (forge, try forge.resigned([.dataGroup(14): try dg14(key, agreement: .dh)]))
        case .dg14Garbage:
            return (forge, try forge.resigned([.dataGroup(14): [0x6E, 0x04, 0x31, 0x02, 0x05, 0x00]]))
        case .dg15RSA512:
            let key = try AsymmetricKey.generateRSA(bits: 512)
            var forged = try forge.resigned([
                .dataGroup(15): DataGroup15(subjectPublicKeyInfo: try key.publicKeyDER()).encoded
            ])
            forged.secrets.activeAuthenticationKey = try key.privateKeyDER()
            return (forge, forged)
        case .dg15Garbage:
            return (forge, try forge.resigned([.dataGroup(15): [0x6F, 0x03, 0x30, 0x01, 0x00]]))
        case .dg14HiddenFromCOM:
            return (forge, forge.changing([.com: Forge.com([1, 2, 3, 13, 15])]))
        case .malformedCOM:
            return (forge, forge.changing([.com: [0x60, 0x05, 0x5F, 0x01, 0x7F, 0x00, 0x00]]))
        case .unsignedExtraInCOM:
            return (forge, forge.changing([.com: Forge.com([1, 2, 3, 11, 13, 14, 15])]))
        case .camCloneHidingDG14, .unsortedCardAccess, .expired:
            preconditionFailure("made above")
        }
    }

    static func dg1(_ mrz: [UInt8]) -> [UInt8] {
        var w = TLVWriter()
        w.write(tag: 0x61) { $0.write(tag: 0x5F1F, value: mrz) }
        return w.bytes
    }
}

/// The encoded members of a constructed object.
func members(of bytes: [UInt8]) throws -> [[UInt8]] { try TLV(parsing: bytes).children().map { $0.encoded } }

@Suite("Forged and broken cards: the right verdict, never genuine by mistake, never a trap")
struct ForgedCardTests {
    @Test("Each crafted card gets its verdict in-process, in under a second of CPU", arguments: ForgedCard.allCases)
    func verdict(_ card: ForgedCard) throws {
        let (forge, image) = try card.make()
        let (result, cpu) = try forge.read(image, trusted: card.trusted, today: card.today)
        let assessment = result.assessment
        #expect(assessment.authenticity == card.expected, "\(card): \(assessment.reasons)")
        if let (path, phrase) = card.failedCheck {
            let verdict = result.checks[keyPath: path]
            #expect(verdict.status == .failed, "\(card): \(verdict)")
            #expect(verdict.reason.contains(phrase), "\(card): \(verdict.reason)")
        }
        if card.expected != .genuine {
            #expect(!assessment.reasons.isEmpty)
        }
        // The data read so far is shown: DG1 is there whenever the chip has a readable one.
        if ![.dg1WithFFBytes, .dg1Of89Characters, .dg1BadCheckDigit].contains(card) {
            #expect(result.files[.dataGroup(1)] == image.content(of: .dataGroup(1)), "\(card)")
        }
        #expect(cpu < .seconds(1), "\(card): \(cpu) of CPU")
    }

    @Test(
        "The document signer profile (ICAO 9303-12): CA:TRUE and the CSCA's own key fail Passive Authentication, with or without --trust; a missing keyUsage is a note; our own issuer's signer has none"
    )
    func documentSignerProfile() throws {
        let (forge, image) = try ForgedCard.signerWithoutKeyUsage.make()
        let (noted, _) = try forge.read(image)
        #expect(noted.assessment.genuine)
        #expect(noted.notes.contains { $0.contains("profile") && $0.contains("no keyUsage") }, "\(noted.notes)")
        let (own, _) = try forge.read(forge.image)
        #expect(own.assessment.genuine && !own.notes.contains { $0.contains("profile") }, "\(own.notes)")
        #expect(own.passiveAuthentication?.signerProfile.status == .passed)
        // Without a trust store the profile is still checked: a CA certificate never signs documents.
        for card in [ForgedCard.signerIsCA, .signedByCSCA] {
            let (f, i) = try card.make()
            let (untrusted, _) = try f.read(i, trusted: false)
            #expect(untrusted.assessment.authenticity == .notGenuine, "\(card): \(untrusted.assessment.reasons)")
            #expect(untrusted.passiveAuthentication?.signerProfile.status == .failed, "\(card)")
        }
    }

    @Test("The expired card: genuine, not valid, 'GENUINE, EXPIRED on 2030-01-01'")
    func expired() throws {
        let (forge, image) = try ForgedCard.expired.make()
        let (result, _) = try forge.read(image, today: ForgedCard.expired.today)
        #expect(result.assessment.genuine && !result.assessment.valid)
        #expect(result.assessment.headline == "GENUINE, EXPIRED on 2030-01-01")
    }

    @Test("Notes: EF.COM and EF.SOD disagreeing is said, and what EF.SOD signs is read")
    func comMismatchNote() throws {
        let (forge, image) = try ForgedCard.dg14HiddenFromCOM.make()
        let (result, _) = try forge.read(image, readsEFCOM: true)
        #expect(result.notes.contains { $0.contains("EF.SOD signs DG14, which EF.COM does not list") })
        #expect(result.checks.chipAuthentication.status == .passed)
        let (_, extra) = try ForgedCard.unsignedExtraInCOM.make()
        let (extraResult, _) = try forge.read(extra, readsEFCOM: true)
        #expect(extraResult.files[.dataGroup(11)] == nil)
        #expect(extraResult.notes.contains { $0.contains("EF.COM lists DG11, which EF.SOD does not sign") })
    }

    @Test("Every truncation of every file: never genuine, never a trap, each read under a second of CPU")
    func truncations() throws {
        let forge = try Forge()
        var reads = 0
        var worst = Duration.zero
        for (file, content) in forge.image.lDSFiles.sorted(by: { $0.key < $1.key }) {
            for length in 0..<content.count {
                let image = forge.changing([file: Array(content.prefix(length))])
                do {
                    // DG3 is read (and hashed) only by an inspection system: without one it stays skipped, and a cut
                    // DG3 is no evidence either way (its check is Terminal Authentication's, not genuine's).
                    let (result, cpu) = try forge.read(image, terminal: file == .dataGroup(3))
                    worst = max(worst, cpu)
                    reads += 1
                    // EF.COM is not signed and EF.CardAccess is only a hint: a cut one may still leave a genuine card.
                    if file != .com && file != .cardAccess {
                        #expect(!result.assessment.genuine, "\(file) cut to \(length) bytes read as genuine")
                    }
                } catch let error as ReaderError {
                    // Only EF.CardAccess is read before access control: its damage may end the read.
                    #expect(file == .cardAccess, "\(file) cut to \(length): \(error)")
                }
            }
        }
        #expect(reads > 1000, "reads: \(reads)")
        #expect(worst < .seconds(1), "slowest truncated read: \(worst) of CPU")
    }

    @Test("A file past 2^24 bytes announced before authentication (EF.CardAccess): a typed error, no trap")
    func hugeCardAccess() throws {
        let forge = try Forge()
        for header: [UInt8] in [[0x31, 0x84, 0x01, 0x00, 0x00, 0x10], [0x31, 0x84, 0x7F, 0xFF, 0xFF, 0xFF]] {
            let image = forge.changing([.cardAccess: header + SampleCard.vietnameseCardAccess])
            for limit in [ReadOptions.defaultMaxFileSize, ReadOptions.maxFileSizeRange.upperBound] {
                var options = ReadOptions(trust: forge.trust, today: Forge.today)
                options.maxFileSize = limit
                #expect(throws: ReaderError.self) {
                    _ = try ReaderSession(transport: try EmulatedChip(image: image)).readCard(
                        .can("000000"), options: options)
                }
            }
        }
    }

    @Test("The emulator with an RSA-512 AA key and SHA-512 refuses INTERNAL AUTHENTICATE instead of trapping")
    func smallAAKeyInTheChip() throws {
        let key = try AsymmetricKey.generateRSA(bits: 512)
        #expect(throws: AccessControlError.self) {
            _ = try ActiveAuthentication.sign(
                challenge: [UInt8](repeating: 1, count: 8), privateKey: key, hash: .sha512)
        }
        // Through a whole read: DG14 names SHA-512 for AA, DG15 holds the 512-bit key; the chip answers an error
        // status and the reader reports AA failed.
        let (forge, image) = try ForgedCard.dg15RSA512.make()
        var dg14 = try DataGroup14(bytes: try #require(image.content(of: .dataGroup(14))))
        dg14.securityInfos.infos.append(.activeAuthentication(ActiveAuthenticationInfo(ecdsaPlainWith: .sha512)))
        let forged = try forge.resigned([
            .dataGroup(14): try dg14.encoded(), .dataGroup(15): image.content(of: .dataGroup(15)),
        ])
        var withKey = forged
        withKey.secrets.activeAuthenticationKey = image.secrets.activeAuthenticationKey
        let (result, _) = try forge.read(withKey)
        #expect(result.checks.activeAuthentication.status == .failed)
        #expect(!result.assessment.genuine)
    }

    @Test(
        "cccd read: each crafted card ends with its documented exit code and JSON answer",
        arguments: ForgedCard.allCases)
    func commandLine(_ card: ForgedCard) throws {
        guard card != .expired else { return }  // its date is fixed in the library; the CLI test makes its own
        let (forge, image) = try card.make()
        let path = try Forge.write(image, name: "forged")
        defer { try? FileManager.default.removeItem(atPath: path) }
        var arguments = ["read", "--card", path, "--can", "000000", "--json"]
        let trust = try forge.writeTrust()
        defer { try? FileManager.default.removeItem(atPath: trust) }
        if card.trusted { arguments += ["--trust", trust] }
        let outcome = try CommandLineRunner.run(arguments)
        let expected: Int32 = card.expected == .notGenuine ? 4 : card.expected == .signerUnverified ? 8 : 0
        #expect(outcome.status == expected, "\(card): \(outcome.stderr)")
        let json = try #require(outcome.json, "\(card): \(outcome.stdout)")
        #expect(json["genuine"] as? Bool == (card.expected == .genuine))
        #expect(json["authenticity"] as? String == card.expected.rawValue)
        #expect(json["exitCode"] as? Int == Int(expected))
    }
}
