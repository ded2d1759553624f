import CardCore
import ChipAccess

/// The personalization commands a blank eMRTD chip understands, after the conventions of JMRTD's passport applet
/// (PERSO.md §1), shared by the writer (which sends them) and the emulator (which answers them):
///
/// - `00 E0 00 00 06 63 04 <size:2> <fid:2>` CREATE FILE (a transparent EF of that size);
/// - `00 A4 02 0C 02 <fid>` SELECT the EF; `00 D6 <offset:2> <data>` UPDATE BINARY into it;
/// - `00 DA 00 <tag> <TLV>` PUT DATA of a secret: `62` the BAC key seed (document number, dates of birth and expiry
///   as octet strings), `63` the Chip Authentication private key, and this toolchain's documented extensions where
///   the applet has no tag: `70` the CAN (PACE password), `71` the Active Authentication private key, `72` a DH
///   Chip Authentication private exponent, `73` chip options (bit 1: no BAC);
/// - `00 DA DE AD` locks the chip: afterwards every one of these answers `6985`;
/// - `80 CA 00 CF` GET DATA of the key diversification data (the chip's serial), before any authentication.
///
/// Keys travel as PKCS#8 inside an octet string (JMRTD's applet takes an RSA key as modulus `60` and exponent `61`
/// and an EC key as curve parameters; this toolchain sends the whole key so the chip can use CRT, and says so).
public enum PersoProtocol {
    public enum Tag: UInt8, Sendable, CaseIterable {
        case bacKeySeed = 0x62
        case chipAuthenticationKey = 0x63
        case can = 0x70
        case activeAuthenticationKey = 0x71
        case chipAuthenticationDHKey = 0x72
        /// Chip options (extension): one byte, bit 1 = BAC disabled (a PACE-only chip).
        case chipOptions = 0x73
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
