/// A command APDU (ISO/IEC 7816-4 §5.1): header, optional command data (Nc bytes) and optional Ne.
///
/// Cases 1–4 in short and extended form. Ne is the number of expected response bytes: 1…256 encodes as a short
/// Le (256 → `00`), up to 65536 as an extended Le (65536 → `0000`). Encoding chooses the short form unless the
/// data or Ne need the extended one, or `extended: true` is asked for.
public struct CommandAPDU: Hashable, Sendable, CustomStringConvertible {
    public var cla: UInt8
    public var ins: UInt8
    public var p1: UInt8
    public var p2: UInt8
    /// Command data (Nc = data.count, 0…65535).
    public var data: [UInt8]
    /// Expected response length Ne (1…65536), or nil when no response data is expected.
    public var ne: Int?

    public static let maxShortData = 255
    public static let maxExtendedData = 65535
    public static let maxShortNe = 256
    public static let maxExtendedNe = 65536

    /// Builds a command. Precondition: data ≤ 65535 bytes and Ne in 1…65536 (programming errors, not card data).
    public init(cla: UInt8 = 0x00, ins: UInt8, p1: UInt8, p2: UInt8, data: [UInt8] = [], ne: Int? = nil) {
        precondition(data.count <= Self.maxExtendedData, "command data longer than 65535 bytes")
        precondition(ne.map { $0 >= 1 && $0 <= Self.maxExtendedNe } ?? true, "Ne outside 1...65536")
        self.cla = cla
        self.ins = ins
        self.p1 = p1
        self.p2 = p2
        self.data = data
        self.ne = ne
    }

    /// ISO 7816-4 case: 1 (no data, no Le), 2 (Le), 3 (data), 4 (data and Le).
    public var isoCase: Int {
        switch (data.isEmpty, ne == nil) {
        case (true, true): return 1
        case (true, false): return 2
        case (false, true): return 3
        case (false, false): return 4
        }
    }

    /// True when the short form cannot carry this command.
    public var needsExtendedLength: Bool { data.count > Self.maxShortData || (ne ?? 0) > Self.maxShortNe }

    /// The bytes on the wire. `extended: true` forces the extended form for cases 2–4.
    public func encoded(extended forceExtended: Bool = false) -> [UInt8] {
        let extended = (forceExtended && isoCase != 1) || needsExtendedLength
        var out: [UInt8] = [cla, ins, p1, p2]
        out.reserveCapacity(4 + 3 + data.count + 3)
        if extended {
            out.append(0x00)
            if !data.isEmpty {
                out.append(UInt8(data.count >> 8))
                out.append(UInt8(data.count & 0xFF))
                out.append(contentsOf: data)
            }
            if let ne {
                let le = ne == Self.maxExtendedNe ? 0 : ne
                out.append(UInt8(le >> 8))
                out.append(UInt8(le & 0xFF))
            }
        } else {
            if !data.isEmpty {
                out.append(UInt8(data.count))
                out.append(contentsOf: data)
            }
            if let ne { out.append(ne == Self.maxShortNe ? 0 : UInt8(ne)) }
        }
        return out
    }

    /// Parses a command APDU (the emulator's side). Throws `APDUError` on any length inconsistency.
    public init(bytes: some Collection<UInt8>) throws(APDUError) {
        let b = Array(bytes)
        guard b.count >= 4 else { throw .tooShort("\(b.count) bytes, a command needs at least 4") }
        cla = b[0]
        ins = b[1]
        p1 = b[2]
        p2 = b[3]
        data = []
        ne = nil
        let body = b.count - 4
        if body == 0 { return }  // case 1
        if body == 1 {  // case 2S
            ne = b[4] == 0 ? 256 : Int(b[4])
            return
        }
        if b[4] != 0 {  // short case 3 or 4
            let lc = Int(b[4])
            if body == 1 + lc {
                data = Array(b[5..<5 + lc])
            } else if body == 2 + lc {
                data = Array(b[5..<5 + lc])
                ne = b[4 + 1 + lc] == 0 ? 256 : Int(b[4 + 1 + lc])
            } else {
                throw .lengthMismatch("short Lc \(lc) does not match \(body) body bytes")
            }
            return
        }
        // Extended: 00 followed by two bytes.
        guard body >= 3 else { throw .lengthMismatch("extended length field truncated (\(body) body bytes)") }
        let first = Int(b[5]) << 8 | Int(b[6])
        if body == 3 {  // case 2E
            ne = first == 0 ? 65536 : first
            return
        }
        guard first != 0 else { throw .invalidLc("extended Lc of zero") }
        let lc = first
        if body == 3 + lc {
            data = Array(b[7..<7 + lc])
        } else if body == 5 + lc {
            data = Array(b[7..<7 + lc])
            let le = Int(b[7 + lc]) << 8 | Int(b[8 + lc])
            ne = le == 0 ? 65536 : le
        } else {
            throw .lengthMismatch("extended Lc \(lc) does not match \(body) body bytes")
        }
    }

    // MARK: Class byte (ISO 7816-4 §5.4.1, first interindustry class)

    /// Secure messaging indication (CLA b4-b3 = 11: header authenticated).
    public var isSecureMessaging: Bool { cla & 0x0C == 0x0C }

    /// Command chaining: CLA b5 set means "more commands of this chain follow".
    public var isChained: Bool { cla & 0x10 != 0 }

    /// This command with CLA marked for secure messaging with an authenticated header.
    public func withSecureMessagingClass() -> CommandAPDU {
        var c = self
        c.cla |= 0x0C
        return c
    }

    /// Splits long data into a chain (ISO 7816-4 §5.3.3): every part but the last has CLA b5 set and no Le;
    /// the last carries the original Ne. A command that fits is returned alone.
    public func chained(maxDataLength: Int = 255) -> [CommandAPDU] {
        precondition(maxDataLength > 0)
        guard data.count > maxDataLength else { return [self] }
        var parts: [CommandAPDU] = []
        var start = 0
        while start < data.count {
            let end = min(start + maxDataLength, data.count)
            let last = end == data.count
            parts.append(
                CommandAPDU(
                    cla: last ? cla : cla | 0x10, ins: ins, p1: p1, p2: p2,
                    data: Array(data[start..<end]), ne: last ? ne : nil))
            start = end
        }
        return parts
    }

    /// Header and lengths only: data is never printed, since it can carry secrets.
    public var description: String {
        let header = [cla, ins, p1, p2].hexString
        return "C-APDU \(header) Nc=\(data.count)" + (ne.map { " Ne=\($0)" } ?? "")
    }
}

/// A response APDU: response data and the status word (ISO/IEC 7816-4 §5.1).
public struct ResponseAPDU: Hashable, Sendable, CustomStringConvertible {
    public var data: [UInt8]
    public var statusWord: StatusWord

    public init(data: [UInt8] = [], statusWord: StatusWord) {
        self.data = data
        self.statusWord = statusWord
    }

    /// Parses response bytes; at least the two status bytes must be present.
    public init(bytes: some Collection<UInt8>) throws(APDUError) {
        let b = Array(bytes)
        guard b.count >= 2 else { throw .tooShort("response of \(b.count) bytes has no status word") }
        data = Array(b[..<(b.count - 2)])
        statusWord = StatusWord(sw1: b[b.count - 2], sw2: b[b.count - 1])
    }

    public var encoded: [UInt8] { data + [statusWord.sw1, statusWord.sw2] }

    public var isSuccess: Bool { statusWord.isSuccess }

    public var description: String { "R-APDU \(data.count) bytes, SW \(statusWord)" }
}
