import CardCore
import CardCrypto

/// The secure-messaging encoding of ICAO 9303-11 §9.8 as pure functions: bytes and SSC in, bytes out.
/// The SSC given is the value to use (already incremented by the caller). Terminal and chip share it.
///
/// Command: CLA with b4-b3 set; DO'87' (01 ‖ cryptogram; DO'85' for odd INS) when there is data; DO'97' with
/// Le when a response is expected; DO'8E' = MAC(pad(SSC ‖ pad(header) ‖ DOs)). Response: DO'87'/'85', DO'99'
/// (status), DO'8E' = MAC(pad(SSC ‖ DOs)). The MAC is always checked before anything is decrypted.
public enum SecureMessagingCodec {
    /// Terminal: wraps a plain command. The checksum streams SSC ‖ pad(header) ‖ objects ‖ padding through the MAC
    /// without building N in memory; `commandMACInput` gives N for the worked examples.
    public static func protect(_ command: CommandAPDU, ssc: [UInt8], keys: SecureMessagingKeys) throws -> CommandAPDU {
        let cla = command.cla | 0x0C
        var data = try commandDataObjects(command, ssc: ssc, keys: keys)
        let objects = data.count
        let checksum = try keys.mac(
            ssc: ssc, header: [cla, command.ins, command.p1, command.p2], objects: data[0..<objects])
        data.append(contentsOf: [0x8E, 0x08])
        data.append(contentsOf: checksum)
        let extended = data.count > CommandAPDU.maxShortData || (command.ne ?? 0) > CommandAPDU.maxShortNe
        return CommandAPDU(
            cla: cla, ins: command.ins, p1: command.p1, p2: command.p2, data: data,
            ne: extended ? CommandAPDU.maxExtendedNe : CommandAPDU.maxShortNe)
    }

    /// DO'87' (or DO'85') with the encrypted data, then DO'97' with Le.
    static func commandDataObjects(_ command: CommandAPDU, ssc: [UInt8], keys: SecureMessagingKeys) throws -> [UInt8] {
        var objects: [UInt8] = []
        objects.reserveCapacity(command.data.count + 48)
        if !command.data.isEmpty {
            try appendCryptogram(command.data[...], ins: command.ins, ssc: ssc, keys: keys, to: &objects)
        }
        if let ne = command.ne {
            let le = leBytes(ne)
            objects.append(0x97)
            objects.append(UInt8(le.count))
            objects.append(contentsOf: le)
        }
        return objects
    }

    /// The command header padded to a block (ISO/IEC 9797-1 method 2).
    static func paddedHeader(_ header: [UInt8], blockSize: Int) -> [UInt8] {
        var out = header
        out.append(0x80)
        while out.count < blockSize { out.append(0) }
        return out
    }

    /// N = pad(SSC ‖ pad(header) ‖ objects): what the command checksum covers.
    static func commandMACInput(header: [UInt8], objects: some Collection<UInt8>, ssc: [UInt8], blockSize bs: Int)
        -> [UInt8]
    {
        var input = ssc
        input.append(contentsOf: ISO9797Padding.pad(header, blockSize: bs))
        input.append(contentsOf: objects)
        return ISO9797Padding.pad(input, blockSize: bs)
    }

    /// K = pad(SSC ‖ objects): what the response checksum covers.
    static func responseMACInput(objects: some Collection<UInt8>, ssc: [UInt8], blockSize bs: Int) -> [UInt8] {
        ISO9797Padding.pad(ssc + Array(objects), blockSize: bs)
    }

    static func writeCryptogram(
        _ data: [UInt8], ins: UInt8, ssc: [UInt8], keys: SecureMessagingKeys, into writer: inout TLVWriter
    ) throws {
        var bytes: [UInt8] = []
        try appendCryptogram(data[...], ins: ins, ssc: ssc, keys: keys, to: &bytes)
        writer.writeRaw(bytes)
    }

    /// Appends DO'87' (01 ‖ cryptogram), or DO'85' for odd INS, encrypting in place after its header.
    static func appendCryptogram(
        _ data: ArraySlice<UInt8>, ins: UInt8, ssc: [UInt8], keys: SecureMessagingKeys, to out: inout [UInt8]
    ) throws {
        let cryptogramLength = (data.count / keys.blockSize + 1) * keys.blockSize
        let odd = ins & 1 == 1
        out.append(odd ? 0x85 : 0x87)
        appendLength(cryptogramLength + (odd ? 0 : 1), to: &out)
        if !odd { out.append(0x01) }
        try keys.encryptPadded(data, ssc: ssc, appendingTo: &out)
    }

    /// A BER length field.
    static func appendLength(_ length: Int, to out: inout [UInt8]) {
        switch length {
        case ..<0x80: out.append(UInt8(length))
        case ..<0x100: out.append(contentsOf: [0x81, UInt8(length)])
        case ..<0x10000: out.append(contentsOf: [0x82, UInt8(length >> 8), UInt8(length & 0xFF)])
        default: out.append(contentsOf: [0x83, UInt8(length >> 16), UInt8(length >> 8 & 0xFF), UInt8(length & 0xFF)])
        }
    }

    /// Terminal: checks and unwraps a protected response. A response without data objects and with an SM error
    /// status (6987/6988) means the chip ended the session; other plain statuses are passed through (no data).
    public static func unprotect(_ response: ResponseAPDU, ssc: [UInt8], keys: SecureMessagingKeys) throws
        -> ResponseAPDU
    {
        try unprotectNoting(response, ssc: ssc, keys: keys).response
    }

    /// `unprotect`, also saying whether the answer lacked DO'99'. Such an answer is accepted when its DO'8E'
    /// verifies over the objects present; its status then comes from the (unauthenticated) trailer, which can
    /// only make data fail, never pass: the data itself is authenticated.
    public static func unprotectNoting(_ response: ResponseAPDU, ssc: [UInt8], keys: SecureMessagingKeys) throws
        -> (response: ResponseAPDU, withoutStatusObject: Bool)
    {
        if response.data.isEmpty {
            switch response.statusWord {
            case .incorrectSMDataObjects, .expectedSMDataObjectsMissing:
                throw SecureMessagingError.ended("the chip ended secure messaging with \(response.statusWord)")
            case .success:
                throw SecureMessagingError.missing("protected response (DO'99', DO'8E') in a 9000 answer")
            default:
                return (response, false)
            }
        }
        let parts = try split(response.data[...], allowed: responseObjects)
        try verify(parts, ssc: ssc, header: nil, keys: keys, what: "response")
        let data = try decrypt(parts, ssc: ssc, keys: keys)
        guard let status = parts.do99 else {
            return (ResponseAPDU(data: data, statusWord: response.statusWord), true)
        }
        guard status.count == 2 else { throw SecureMessagingError.malformed("DO'99' of \(status.count) bytes") }
        let inner = StatusWord(sw1: status[status.startIndex], sw2: status[status.startIndex + 1])
        return (ResponseAPDU(data: data, statusWord: inner), false)
    }

    /// Whether an answer carries a checksum (a DO'8E' after well-formed data objects): the chip protected it. An
    /// answer without one (a bare status word, a bare DO'99', a DO'87' without MAC) cannot be verified.
    public static func carriesChecksum(_ response: ResponseAPDU) -> Bool {
        guard !response.data.isEmpty else { return false }
        return (try? split(response.data[...], allowed: responseObjects)) != nil
    }

    /// The status of an answer under secure messaging that cannot be verified: any status but a success whose
    /// protection is absent (a bare status word, a bare DO'99', a DO'87' without DO'8E'). Nil for anything else.
    /// 9000 and 61xx never qualify (success must be protected), nor 6987/6988 (the chip ended secure messaging).
    /// No data comes with it.
    public static func plainStatus(of response: ResponseAPDU) -> StatusWord? {
        let status = response.statusWord
        guard status != .success, status.sw1 != 0x61, !carriesChecksum(response) else { return nil }
        if response.data.isEmpty, status == .incorrectSMDataObjects || status == .expectedSMDataObjectsMissing {
            return nil
        }
        return status
    }

    /// Chip: checks and unwraps a protected command. Throws `missingDataObject` (answer 6987) or `badMAC` (6988).
    public static func unprotect(command: CommandAPDU, ssc: [UInt8], keys: SecureMessagingKeys) throws -> CommandAPDU {
        guard command.isSecureMessaging else {
            throw SecureMessagingError.missing("secure messaging indication in CLA")
        }
        let parts = try split(command.data[...], allowed: commandObjects)
        let header = [command.cla, command.ins, command.p1, command.p2]
        try verify(parts, ssc: ssc, header: header, keys: keys, what: "command")
        let data = try decrypt(parts, ssc: ssc, keys: keys)
        var ne: Int? = nil
        if let le = parts.do97 {
            switch le.count {
            case 0: ne = nil
            case 1: ne = le[le.startIndex] == 0 ? 256 : Int(le[le.startIndex])
            case 2:
                let v = Int(le[le.startIndex]) << 8 | Int(le[le.startIndex + 1])
                ne = v == 0 ? 65536 : v
            default: throw SecureMessagingError.malformed("DO'97' of \(le.count) bytes")
            }
        }
        guard data.count <= CommandAPDU.maxExtendedData else {
            throw SecureMessagingError.malformed("command data too long")
        }
        return CommandAPDU(
            cla: command.cla & ~0x0C, ins: command.ins, p1: command.p1, p2: command.p2, data: data, ne: ne)
    }

    /// Chip: wraps a plain response (data in DO'87', or DO'85' for odd INS).
    /// `withoutStatusObject` leaves DO'99' out (a chip variant some cards are; for tests).
    public static func protect(
        response: ResponseAPDU, ins: UInt8, ssc: [UInt8], keys: SecureMessagingKeys, withoutStatusObject: Bool = false
    ) throws -> ResponseAPDU {
        var data: [UInt8] = []
        data.reserveCapacity(response.data.count + 48)
        if !response.data.isEmpty {
            try appendCryptogram(response.data[...], ins: ins, ssc: ssc, keys: keys, to: &data)
        }
        if !withoutStatusObject {
            data.append(contentsOf: [0x99, 0x02, response.statusWord.sw1, response.statusWord.sw2])
        }
        let checksum = try keys.mac(ssc: ssc, header: nil, objects: data[...])
        data.append(contentsOf: [0x8E, 0x08])
        data.append(contentsOf: checksum)
        return ResponseAPDU(data: data, statusWord: response.statusWord)
    }

    /// The largest plaintext whose protected response (DO'87' + DO'99' + DO'8E') fits in `responseLength` bytes.
    /// Short Le (256) gives 231 bytes under 3DES and 223 under AES.
    public static func maxPlaintextLength(responseLength: Int, blockSize: Int) -> Int {
        let fixed = 4 + 10  // DO'99' and DO'8E'
        var c = (responseLength - fixed) / blockSize * blockSize
        while c > 0 {
            let total = 1 + TLVWriter.lengthFieldWidth(c + 1) + 1 + c + fixed
            if total <= responseLength { return c - 1 }
            c -= blockSize
        }
        return 0
    }

    // MARK: Internals

    static func leBytes(_ ne: Int) -> [UInt8] {
        if ne <= 256 { return [ne == 256 ? 0 : UInt8(ne)] }
        let v = ne == 65536 ? 0 : ne
        return [UInt8(v >> 8), UInt8(v & 0xFF)]
    }

    /// The data objects of a protected APDU (slices of its data; nothing copied).
    struct Parts {
        var do85: ArraySlice<UInt8>? = nil
        var do87: ArraySlice<UInt8>? = nil
        var do97: ArraySlice<UInt8>? = nil
        var do99: ArraySlice<UInt8>? = nil
        /// The bytes the checksum covers (every object before DO'8E').
        var macInput: ArraySlice<UInt8> = []
        var checksum: ArraySlice<UInt8> = []

        subscript(tag: TLVTag) -> ArraySlice<UInt8>? {
            switch tag.rawValue {
            case 0x85: return do85
            case 0x87: return do87
            case 0x97: return do97
            case 0x99: return do99
            default: return nil
            }
        }
    }

    /// Splits protected data into its objects; DO'8E' must come last and be 8 bytes; no object twice.
    static func split(_ data: ArraySlice<UInt8>, allowed: Set<TLVTag>) throws -> Parts {
        try split(data, allowed: { allowed.contains($0) })
    }

    static func responseObjects(_ tag: TLVTag) -> Bool { tag == 0x85 || tag == 0x87 || tag == 0x99 }
    static func commandObjects(_ tag: TLVTag) -> Bool { tag == 0x85 || tag == 0x87 || tag == 0x97 }

    static func split(_ data: ArraySlice<UInt8>, allowed: (TLVTag) -> Bool) throws -> Parts {
        var parts = Parts()
        var reader = TLVReader(data)
        var seenChecksum = false
        do {
            while !reader.isAtEnd {
                let before = reader.remaining.startIndex
                guard let object = try reader.readObject() else { break }
                guard !seenChecksum else { throw SecureMessagingError.malformed("data after DO'8E'") }
                if object.tag == 0x8E {
                    guard object.value.count == 8 else {
                        throw SecureMessagingError.malformed("DO'8E' of \(object.value.count) bytes")
                    }
                    parts.checksum = object.value
                    parts.macInput = data[data.startIndex..<before]
                    seenChecksum = true
                    continue
                }
                guard allowed(object.tag) else {
                    throw SecureMessagingError.malformed("unexpected data object \(object.tag)")
                }
                guard parts[object.tag] == nil else {
                    throw SecureMessagingError.malformed("data object \(object.tag) twice")
                }
                if object.tag == 0x85 || object.tag == 0x87, parts.do85 != nil || parts.do87 != nil {
                    throw SecureMessagingError.malformed("two cryptograms")
                }
                switch object.tag.rawValue {
                case 0x85: parts.do85 = object.value
                case 0x87: parts.do87 = object.value
                case 0x97: parts.do97 = object.value
                default: parts.do99 = object.value
                }
            }
        } catch let error as TLVError {
            throw SecureMessagingError.malformed("\(error)")
        }
        guard seenChecksum else { throw SecureMessagingError.missing("DO'8E' (checksum)") }
        return parts
    }

    static func verify(_ parts: Parts, ssc: [UInt8], header: [UInt8]?, keys: SecureMessagingKeys, what: String) throws {
        let expected = try keys.mac(ssc: ssc, header: header, objects: parts.macInput)
        guard constantTimeEquals(expected, parts.checksum) else { throw SecureMessagingError.badMAC(what) }
    }

    static func decrypt(_ parts: Parts, ssc: [UInt8], keys: SecureMessagingKeys) throws -> [UInt8] {
        let cryptogram: ArraySlice<UInt8>
        if let do87 = parts.do87 {
            guard do87.first == 0x01 else {
                throw SecureMessagingError.malformed("DO'87' without padding indicator 01")
            }
            cryptogram = do87.dropFirst()
        } else if let do85 = parts.do85 {
            cryptogram = do85
        } else {
            return []
        }
        guard !cryptogram.isEmpty, cryptogram.count % keys.blockSize == 0 else {
            throw SecureMessagingError.malformed("cryptogram of \(cryptogram.count) bytes")
        }
        var plain = try keys.decrypt(cryptogram, ssc: ssc)
        // Strip the padding in place: zeros, then 80.
        while let last = plain.last, last == 0 { plain.removeLast() }
        guard plain.last == 0x80 else { throw SecureMessagingError.malformed("decrypted data has no padding") }
        plain.removeLast()
        return plain
    }
}
