import CardCore
import CardCrypto
import ChipAccess
import LDS

/// The personalization commands a blank eMRTD chip understands, after the conventions of JMRTD's passport applet
/// as it runs (PERSO.md §1, FIELD.md §2: what the applet really accepts, not what JMRTD's host side writes),
/// shared by the writer (which sends them) and the emulator (which answers them):
///
/// - `00 E0 00 00 06 63 04 <size:2> <fid:2>` CREATE FILE (a transparent EF of that size);
/// - `00 A4 02 0C 02 <fid>` SELECT the EF; `00 D6 <offset:2> <data>` UPDATE BINARY into it;
/// - `00 DA 00 <tag> <data>` PUT DATA of a secret, in the applet's own formats where it has a tag:
///   - `60`: `60 00 04 L <modulus>` and `61`: `61 00 04 L <private exponent>`, the RSA Active Authentication key
///     in the applet's flat form (it reads the tag and its length, skips that many bytes, then takes the octet
///     string as a sibling; JMRTD's host writes the nested `60 L 04 L n`, which the applet answers `6F00`: our
///     chip takes both);
///   - `62`: `62 L 04 <document number> 04 <date of birth> 04 <date of expiry>`, the BAC key seed;
///   - `63`: the EC Chip Authentication key as the applet's bare sequence `81` p, `82` a, `83` b, `84` G
///     (uncompressed), `85` order, `86` private scalar, `87` cofactor (2 bytes), no outer tag;
///   - and this toolchain's documented extensions where the applet has no tag, each `<tag> L 04 L <value>`: `70`
///     the CAN (PACE password), `71` an ECDSA Active Authentication private key (PKCS#8), `72` a DH Chip
///     Authentication private exponent, `73` chip options (bit 1: no BAC);
/// - `00 DA DE AD` locks the chip: afterwards every one of these answers `6985`;
/// - `80 CA 00 CF` GET DATA of the key diversification data (the chip's serial), before any authentication (a
///   GlobalPlatform card answers it; JMRTD's applet does not, see `PersoWriter`).
///
/// The applet takes each PUT DATA in one short command; a longer one (a 2048-bit modulus) goes as an ISO 7816
/// command chain, which a chip of this toolchain takes.
public enum PersoProtocol {
    public enum Tag: UInt8, Sendable, CaseIterable {
        case activeAuthenticationModulus = 0x60
        case activeAuthenticationPrivateExponent = 0x61
        case bacKeySeed = 0x62
        case chipAuthenticationKey = 0x63
        case can = 0x70
        /// An ECDSA Active Authentication key (PKCS#8); an RSA one goes as `60` and `61`.
        case activeAuthenticationKey = 0x71
        case chipAuthenticationDHKey = 0x72
        /// Chip options (extension): one byte, bit 1 = BAC disabled (a PACE-only chip).
        case chipOptions = 0x73
        /// A CVCA certificate, the chip's trust point for Terminal Authentication.
        case cvcaCertificate = 0x64
        /// The chip's current date (extension): six unpacked digits YYMMDD.
        case currentDate = 0x74
    }

    /// The key diversification data's GP tag (GET DATA `CF`).
    public static let diversificationDataTag: UInt8 = 0xCF

    public static func createFile(fid: UInt16, size: Int) -> CommandAPDU {
        CommandAPDU(
            ins: 0xE0, p1: 0, p2: 0,
            data: [0x63, 0x04, UInt8(size >> 8 & 0xFF), UInt8(size & 0xFF), UInt8(fid >> 8), UInt8(fid & 0xFF)])
    }

    public static func selectFile(fid: UInt16) -> CommandAPDU {
        CommandAPDU(ins: 0xA4, p1: 0x02, p2: 0x0C, data: [UInt8(fid >> 8), UInt8(fid & 0xFF)])
    }

    public static func updateBinary(offset: Int, data: [UInt8]) -> CommandAPDU {
        CommandAPDU(ins: 0xD6, p1: UInt8(offset >> 8 & 0x7F), p2: UInt8(offset & 0xFF), data: data)
    }

    public static func putData(_ tag: Tag, value: [UInt8]) -> CommandAPDU {
        CommandAPDU(
            ins: 0xDA, p1: 0, p2: tag.rawValue,
            data: TLVWriter.encode(
                tag: TLVTag(rawValue: UInt32(tag.rawValue)), value: TLVWriter.encode(tag: 0x04, value: value)))
    }

    /// The RSA Active Authentication key as JMRTD's applet takes it (FIELD.md §2.1): the modulus (`60`), then the
    /// private exponent (`61`), each in the flat form `tag 00 04 L <unsigned big-endian value>`.
    public static func putRSAKey(modulus: [UInt8], privateExponent: [UInt8]) -> [CommandAPDU] {
        [
            putFlat(.activeAuthenticationModulus, value: Array(modulus.drop { $0 == 0 })),
            putFlat(.activeAuthenticationPrivateExponent, value: Array(privateExponent.drop { $0 == 0 })),
        ]
    }

    /// PUT DATA in the applet's flat form: `tag 00 04 L value`.
    public static func putFlat(_ tag: Tag, value: [UInt8]) -> CommandAPDU {
        CommandAPDU(ins: 0xDA, p1: 0, p2: tag.rawValue, data: [tag.rawValue, 0x00] + TLVWriter.encode(tag: 0x04, value: value))
    }

    /// The value of a flat-form PUT DATA (`tag L <L bytes skipped> 04 L value`, as the applet parses it), nil when
    /// the data is not in that form.
    public static func flatValue(in data: [UInt8], tag: UInt8) -> [UInt8]? {
        guard data.count >= 2, data[0] == tag, data[1] < 0x80 else { return nil }
        let rest = Array(data.dropFirst(2 + Int(data[1])))
        guard let inner = try? TLV(parsing: rest), inner.tag == 0x04, !inner.value.isEmpty else { return nil }
        return Array(inner.value)
    }

    /// The parts of an EC private key in JMRTD's `63` format.
    public struct ECKeyParts: Sendable, Equatable {
        public var p, a, b, generator, order, scalar: [UInt8]
        public var cofactor: UInt16

        public init(
            p: [UInt8], a: [UInt8], b: [UInt8], generator: [UInt8], order: [UInt8], scalar: [UInt8], cofactor: UInt16
        ) {
            (self.p, self.a, self.b, self.generator, self.order, self.scalar, self.cofactor) =
                (p, a, b, generator, order, scalar, cofactor)
        }

        /// The key's parts from an EC private key on a named curve.
        public init(_ key: AsymmetricKey) throws(CryptoError) {
            guard let curve = key.curve else {
                throw CryptoError(code: .unsupportedAlgorithm, reason: "a Chip Authentication key needs a named curve")
            }
            let group = try ECGroup(curve)
            let n = group.order
            let k = BigNumber(group.cofactor).bytes()
            self.init(
                p: group.prime, a: group.a, b: group.b, generator: group.generator.encoded, order: n,
                scalar: try key.ecPrivateScalar().bytes(length: n.count),
                cofactor: UInt16(k.suffix(2).reduce(0) { $0 << 8 | UInt16($1) }))
        }

        /// The bare `81`…`87` sequence.
        public var encoded: [UInt8] {
            var w = TLVWriter()
            w.write(tag: 0x81, value: p)
            w.write(tag: 0x82, value: a)
            w.write(tag: 0x83, value: b)
            w.write(tag: 0x84, value: generator)
            w.write(tag: 0x85, value: order)
            w.write(tag: 0x86, value: scalar)
            w.write(tag: 0x87, value: [UInt8(cofactor >> 8), UInt8(cofactor & 0xFF)])
            return w.bytes
        }

        /// Parses the sequence; nil when a part is missing, repeated, unknown or malformed.
        public init?(parsing data: [UInt8]) {
            var reader = TLVReader(data)
            var parts: [UInt32: [UInt8]] = [:]
            while !reader.isAtEnd {
                guard let object = try? reader.readObject(), (0x81...0x87).contains(object.tag.rawValue),
                    parts[object.tag.rawValue] == nil
                else { return nil }
                parts[object.tag.rawValue] = Array(object.value)
            }
            guard let p = parts[0x81], let a = parts[0x82], let b = parts[0x83], let g = parts[0x84],
                let r = parts[0x85], let s = parts[0x86], let k = parts[0x87], (1...2).contains(k.count)
            else { return nil }
            self.init(
                p: p, a: a, b: b, generator: g, order: r, scalar: s,
                cofactor: k.reduce(0) { $0 << 8 | UInt16($1) })
        }
    }

    /// The EC Chip Authentication key as JMRTD's applet takes it (P2 `63`, the bare parts).
    public static func putECKey(_ parts: ECKeyParts) -> CommandAPDU {
        CommandAPDU(ins: 0xDA, p1: 0, p2: Tag.chipAuthenticationKey.rawValue, data: parts.encoded)
    }

    /// The BAC key seed of JMRTD's applet: three octet strings.
    public static func putBACKey(_ key: BACKey) -> CommandAPDU {
        var inner = TLVWriter()
        inner.write(tag: 0x04, value: Array(key.documentNumber.utf8))
        inner.write(tag: 0x04, value: Array(key.dateOfBirth.utf8))
        inner.write(tag: 0x04, value: Array(key.dateOfExpiry.utf8))
        return CommandAPDU(
            ins: 0xDA, p1: 0, p2: Tag.bacKeySeed.rawValue,
            data: TLVWriter.encode(tag: TLVTag(rawValue: UInt32(Tag.bacKeySeed.rawValue)), value: inner.bytes))
    }

    public static let lock = CommandAPDU(ins: 0xDA, p1: 0xDE, p2: 0xAD)

    public static let getDiversificationData = CommandAPDU(cla: 0x80, ins: 0xCA, p1: 0x00, p2: 0xCF, ne: 256)

    /// The diversification data in GET DATA's answer (`CF 0A …`).
    public static func diversificationData(from response: ResponseAPDU) -> [UInt8]? {
        guard response.statusWord == .success, let tlv = try? TLV(parsing: response.data), tlv.tag == 0xCF,
            tlv.value.count == 10
        else { return nil }
        return Array(tlv.value)
    }

    /// The octet strings inside a PUT DATA's TLV (nil when malformed or the outer tag is not `tag`).
    public static func octetStrings(in data: [UInt8], tag: UInt8) -> [[UInt8]]? {
        guard let outer = try? TLV(parsing: data), outer.tag == TLVTag(rawValue: UInt32(tag)) else { return nil }
        var reader = TLVReader(outer.value)
        var out: [[UInt8]] = []
        while !reader.isAtEnd {
            guard let object = try? reader.readObject(), object.tag == 0x04 else { return nil }
            out.append(Array(object.value))
        }
        return out
    }
}

/// Which personalization commands a blank chip accepts (the profile's `persoCommandSet`).
public enum PersoCommandSet: String, Codable, Hashable, Sendable, CaseIterable {
    /// JMRTD's passport applet conventions in plain APDUs: secrets cross the reader in clear (development cards).
    case jmrtdApplet = "jmrtd-applet"
    /// The same commands only inside a GlobalPlatform SCP03 channel (C-MAC, C-DECRYPTION, R-MAC) opened with the
    /// chip's own transport keys.
    case secure
}
