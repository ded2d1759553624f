import Logging

/// The APDU trace (`cccd … --trace`): each command's header and lengths, each answer's status and length, at the
/// wire and, under secure messaging, the plain command header. Never a data field: keys, the CAN, the MRZ key, an
/// SSC and protected plaintext cannot reach it.
public enum CardLog {
    public static let apdu = Logger(label: "cccd.apdu")

    public static func sent(_ c: CommandAPDU, layer: String) {
        apdu.trace(
            "\(layer) → \(hex(c.cla)) \(hex(c.ins)) \(hex(c.p1)) \(hex(c.p2)), Lc \(c.data.count), Le \(c.ne.map(String.init) ?? "none")"
        )
    }

    public static func received(_ r: ResponseAPDU, layer: String) {
        apdu.trace("\(layer) ← \(r.statusWord.hex), \(r.data.count) bytes")
    }

    static func hex(_ b: UInt8) -> String {
        let digits = Array("0123456789ABCDEF")
        return String([digits[Int(b >> 4)], digits[Int(b & 0x0F)]])
    }
}
