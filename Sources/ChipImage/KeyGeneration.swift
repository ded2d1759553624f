import CardCore
import CardCrypto
import ChipAccess
import LDS

/// A key pair a chip of the `secure` command set makes inside itself: the Chip Authentication key (EC or DH on the
/// profile's domain) or the Active Authentication key (RSA of the profile's size, or EC).
public enum ChipKeyParameters: Hashable, Sendable, CustomStringConvertible {
    /// RSA with e = 65537.
    case rsa(bits: Int)
    case ec(NamedCurve)
    /// A standardized RFC 5114 group (domain parameter ID 0–2).
    case dh(groupID: Int)

    /// RSA moduli a chip makes (ICAO 9303-11 §6.1's lower bound; larger than 4096 only makes a card slow).
    public static let rsaBits: Set<Int> = [1024, 1536, 2048, 3072, 4096]

    public var description: String {
        switch self {
        case .rsa(let bits): return "RSA-\(bits)"
        case .ec(let curve): return curve.rawValue
        case .dh(let id): return "DH group \(id)"
        }
    }
}

/// The public half of a key pair the chip made, as it answers it: all the host learns of the key.
public enum ChipPublicKey: Hashable, Sendable {
    case rsa(modulus: [UInt8], exponent: [UInt8])
    /// An uncompressed point on the curve.
    case ec(NamedCurve, point: [UInt8])
    case dh(groupID: Int, y: [UInt8])

    /// The key as a SubjectPublicKeyInfo (DG15 holds it for Active Authentication; DG14 for an EC or DH CA key).
    public func subjectPublicKeyInfo() throws -> [UInt8] {
        switch self {
        case .rsa(let n, let e): return try PublicKeyInfo.encodeRSA(modulus: n, exponent: e)
        case .ec(let curve, let point): return try PublicKeyInfo.encodeEC(curve: curve, point: point)
        case .dh(let id, let y):
            guard let group = DHGroup.standardized(id) else {
                throw KeyGenerationError("DH group \(id) is not a standardized group")
            }
            return try PublicKeyInfo.encodeDH(group: group, y: y)
        }
    }
}

/// Why the chip's answer to GENERATE ASYMMETRIC KEY PAIR is not a public key of what was asked.
public struct KeyGenerationError: Error, Hashable, Sendable, CustomStringConvertible {
    public let reason: String
    public init(_ reason: String) { self.reason = reason }
    public var description: String { reason }
}

/// GENERATE ASYMMETRIC KEY PAIR (ISO/IEC 7816-8, INS 46) as the `secure` command set has it, only inside SCP03:
///
/// - `00 46 <P1> <P2> <Lc> <parameters> <Le>` (`84 46 …` wrapped);
/// - P1 `00`: generate a new pair (a pair made before under the same reference is replaced, until the lock);
///   P1 `01`: answer the public key of the pair already made (a line that lost the answer reads it again);
/// - P2, the key: `63` the Chip Authentication key, `71` the Active Authentication key (the PUT DATA tags);
/// - parameters: `80 01 <kind>` (`01` RSA, `02` EC, `03` DH), then `81 02 <modulus bits>` for RSA (e = 65537) or
///   `83 01 <standardized domain parameter ID>` for EC (8–18) and DH (0–2);
/// - the answer: `7F49 L { … }` with the public key only, as ISO/IEC 7816-8's public key data objects: RSA `81` n,
///   `82` e; EC `86` the uncompressed point; DH `84` y. The private key never leaves the chip.
/// - refusals: `6982` outside SCP03, `6985` after the lock, `6A86` an unknown key reference or P1, `6A80`
///   parameters the chip does not make, `6A88` (P1 `01`) no pair made under that reference, `6D00` a chip that
///   cannot generate keys (JMRTD's applet).
public enum KeyGeneration {
    public static let instruction: UInt8 = 0x46

    public enum Mode: UInt8, Sendable {
        case generate = 0x00
        case readPublicKey = 0x01
    }

    /// The keys a chip makes, by their PUT DATA tag.
    public static let keyReferences: Set<PersoProtocol.Tag> = [.chipAuthenticationKey, .activeAuthenticationKey]

    public static func command(
        _ key: PersoProtocol.Tag, _ parameters: ChipKeyParameters, mode: Mode = .generate, extendedLength: Bool
    ) -> CommandAPDU {
        CommandAPDU(
            ins: instruction, p1: mode.rawValue, p2: key.rawValue, data: encode(parameters),
            ne: extendedLength ? 65536 : 256)
    }

    public static func encode(_ parameters: ChipKeyParameters) -> [UInt8] {
        var w = TLVWriter()
        switch parameters {
        case .rsa(let bits):
            w.write(tag: 0x80, value: [0x01])
            w.write(tag: 0x81, value: [UInt8(bits >> 8 & 0xFF), UInt8(bits & 0xFF)])
        case .ec(let curve):
            w.write(tag: 0x80, value: [0x02])
            w.write(tag: 0x83, value: [UInt8(curve.parameterID)])
        case .dh(let id):
            w.write(tag: 0x80, value: [0x03])
            w.write(tag: 0x83, value: [UInt8(truncatingIfNeeded: id)])
        }
        return w.bytes
    }

    /// The chip's reading of the parameters; nil when they are not parameters it makes a key of.
    public static func parameters(from data: [UInt8]) -> ChipKeyParameters? {
        guard data.count <= 16, let objects = try? TLVReader.readAll(data), objects.count == 2,
            objects[0].tag == 0x80, objects[0].value.count == 1
        else { return nil }
        let value = Array(objects[1].value)
        switch (objects[0].value.first, objects[1].tag) {
        case (0x01, 0x81):
            guard value.count == 2 else { return nil }
            let bits = Int(value[0]) << 8 | Int(value[1])
            return ChipKeyParameters.rsaBits.contains(bits) ? .rsa(bits: bits) : nil
        case (0x02, 0x83):
            guard value.count == 1, let curve = NamedCurve(parameterID: Int(value[0])) else { return nil }
            return .ec(curve)
        case (0x03, 0x83):
            guard value.count == 1, DHGroup.standardized(Int(value[0])) != nil else { return nil }
            return .dh(groupID: Int(value[0]))
        default: return nil
        }
    }

    /// The chip's answer: `7F49 { … }`.
    public static func encode(_ key: ChipPublicKey) -> [UInt8] {
        var w = TLVWriter()
        switch key {
        case .rsa(let n, let e):
            w.write(tag: 0x81, value: n)
            w.write(tag: 0x82, value: e)
        case .ec(_, let point): w.write(tag: 0x86, value: point)
        case .dh(_, let y): w.write(tag: 0x84, value: y)
        }
        return TLVWriter.encode(tag: 0x7F49, value: w.bytes)
    }

    /// The host's reading of the chip's answer, held to what was asked: an RSA modulus of the asked size (whole
    /// bytes, top bit set) and an odd exponent; a point on the asked curve; a DH value of the group's order.
    /// Anything else is refused: a chip that answers another key is not written.
    public static func publicKey(from data: [UInt8], asked parameters: ChipKeyParameters) throws(KeyGenerationError)
        -> ChipPublicKey
    {
        guard data.count <= 2048, let outer = try? TLV(parsing: data), outer.tag == 0x7F49,
            let objects = try? TLVReader.readAll(outer.value)
        else { throw KeyGenerationError("the answer is not a public key (7F49)") }
        func value(_ tag: UInt32) throws(KeyGenerationError) -> [UInt8] {
            let found = objects.filter { $0.tag.rawValue == tag }
            guard found.count == 1, let only = found.first else {
                throw KeyGenerationError("the public key has \(found.count) data objects \(String(tag, radix: 16))")
            }
            return Array(only.value)
        }
        switch parameters {
        case .rsa(let bits):
            let n = Array(try value(0x81).drop { $0 == 0 })
            let e = Array(try value(0x82).drop { $0 == 0 })
            guard n.count * 8 == bits, let top = n.first, top & 0x80 != 0, n.last.map({ $0 & 1 == 1 }) == true else {
                throw KeyGenerationError("the chip answered no \(bits)-bit RSA modulus")
            }
            guard !e.isEmpty, e.count <= 8, e.last.map({ $0 & 1 == 1 }) == true, e != [1] else {
                throw KeyGenerationError("the chip answered an RSA public exponent that is not one")
            }
            return .rsa(modulus: n, exponent: e)
        case .ec(let curve):
            let point = try value(0x86)
            do {
                let group = try ECGroup(curve)
                _ = try group.point(point)
                guard point.first == 0x04, point.count == 1 + 2 * group.prime.count else {
                    throw KeyGenerationError("the point is not uncompressed")
                }
            } catch let error as KeyGenerationError {
                throw error
            } catch {
                throw KeyGenerationError("the chip answered no point on \(curve.rawValue)")
            }
            return .ec(curve, point: point)
        case .dh(let id):
            let y = try value(0x84)
            guard let group = DHGroup.standardized(id), group.isValidElement(y) else {
                throw KeyGenerationError("the chip answered no public value in DH group \(id)")
            }
            return .dh(groupID: id, y: y)
        }
    }
}

extension ChipPublicKey {
    /// The public half of a key pair made on the host: EC on a named curve, or RSA.
    public init(_ key: AsymmetricKey) throws {
        switch key.kind {
        case .ec:
            guard let curve = key.curve else { throw KeyGenerationError("an EC key on no named curve") }
            self = .ec(curve, point: try key.ecPublicPoint())
        case .rsa: self = .rsa(modulus: try key.component("n"), exponent: try key.component("e"))
        case .other: throw KeyGenerationError("a key that is neither RSA nor EC")
        }
    }
}
