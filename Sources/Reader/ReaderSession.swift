import CardCore
import ChipAccess
import LDS

/// One conversation with one chip: select the application, access control, then file reads with the fewest
/// round trips the chip allows (DESIGN.md, performance principles):
///
/// - one READ BINARY by short file identifier per file when extended length works (Le = 0000 reads the whole
///   file); otherwise the largest Le whose protected answer fits a short response (231 bytes under 3DES, 223
///   under AES), then plain-offset READ BINARY (odd INS B1 past offset 32767);
/// - the file's length comes from its TLV header in the first answer, so nothing is read twice;
/// - a Le that works is remembered for the session; 6700 to an extended Le falls back to short reads and 6Cxx
///   takes the chip's exact length, both without desynchronising the SSC (the chip answers them protected).
public final class ReaderSession {
    /// Counts every APDU on the wire (protected bytes).
    public let meter: MeteredTransport
    private var channel: any CardTransport
    private var secureMessaging: SecureMessaging?
    private let random: any RandomSource

    /// The access control used ("BAC", later "PACE-CAN", "PACE-MRZ"), once performed.
    public private(set) var accessControl: String?
    /// Extended-length reads in use (false after a fallback).
    public private(set) var usesExtendedLength: Bool
    /// The largest plaintext a READ BINARY has delivered or may ask for in this session.
    public private(set) var workingLe: Int

    public init(transport: any CardTransport, random: any RandomSource = SystemRandom()) {
        meter = MeteredTransport(transport)
        channel = meter
        self.random = random
        usesExtendedLength = transport.capabilities.supportsExtendedLength
        workingLe = usesExtendedLength ? 65536 : 256
    }

    /// SELECT the eMRTD application by AID (P2 = 0C: no FCI, nothing to transfer).
    public func selectApplication(_ aid: [UInt8] = VietnameseCard.applicationID) throws {
        let response = try send(CommandAPDU(ins: 0xA4, p1: 0x04, p2: 0x0C, data: aid), doing: "selecting the eMRTD application")
        guard response.statusWord == .success else {
            throw ReaderError(code: .notAnEMRTD, reason: "the card has no eMRTD application", statusWord: response.statusWord)
        }
    }

    /// Basic Access Control; afterwards every command goes through secure messaging.
    public func performBAC(_ key: BACKey) throws {
        do {
            let session = try BAC.authenticate(meter, key: key, random: random)
            open(session)
            accessControl = "BAC"
        } catch {
            throw ReaderError.wrap(error, doing: "BAC")
        }
    }

    private func open(_ session: SecureMessaging) {
        secureMessaging = session
        channel = SecureMessagingTransport(meter, session: session)
        let short = SecureMessagingCodec.maxPlaintextLength(responseLength: 256, blockSize: session.keys.blockSize)
        let extended = SecureMessagingCodec.maxPlaintextLength(
            responseLength: min(65536, meter.capabilities.maxResponseLength), blockSize: session.keys.blockSize)
        workingLe = usesExtendedLength ? extended : short
    }

    private func send(_ command: CommandAPDU, doing what: String) throws -> ResponseAPDU {
        do {
            return try channel.transmit(command)
        } catch {
            throw ReaderError.wrap(error, doing: what)
        }
    }

    /// The largest plaintext Le without extended length in the current channel.
    private var shortLe: Int {
        secureMessaging.map { SecureMessagingCodec.maxPlaintextLength(responseLength: 256, blockSize: $0.keys.blockSize) } ?? 256
    }

    // MARK: Reading files

    /// Reads one whole file. Throws `fileUnreadable` when the chip refuses it (6982, 6A82).
    public func readFile(_ file: LDSFile) throws -> [UInt8] {
        let what = "reading \(file.name)"
        var data = try readChunk(file: file, offset: 0, length: workingLe, bySFI: true, doing: what)
        guard !data.isEmpty else { return data }
        let total = try totalLength(of: data, file: file)
        while data.count < total {
            let want = min(workingLe, total - data.count)
            let chunk = try readChunk(file: file, offset: data.count, length: want, bySFI: false, doing: what)
            guard !chunk.isEmpty else {
                throw ReaderError(code: .malformedData, reason: "\(file.name) ends after \(data.count) of \(total) bytes")
            }
            if chunk.count < want { workingLe = chunk.count }  // the chip's own limit: remember it
            data += chunk
        }
        return data.count > total ? Array(data.prefix(total)) : data
    }

    /// The full length of a file from the TLV header at its start (the first chunk holds it).
    private func totalLength(of first: [UInt8], file: LDSFile) throws -> Int {
        var reader = ByteReader(first)
        guard let t0 = reader.readByte() else { return 0 }
        if t0 & 0x1F == 0x1F {
            var more = true
            while more {
                guard let b = reader.readByte() else { throw truncatedHeader(file) }
                more = b & 0x80 != 0
            }
        }
        guard let l0 = reader.readByte() else { throw truncatedHeader(file) }
        var length = Int(l0)
        if l0 > 0x80 {
            let n = Int(l0 & 0x7F)
            guard n <= 4, let bytes = reader.readUInt(width: n) else { throw truncatedHeader(file) }
            length = Int(bytes)
        } else if l0 == 0x80 {
            throw ReaderError(code: .malformedData, reason: "\(file.name) uses an indefinite length")
        }
        let headerLength = first.count - reader.count
        return headerLength + length
    }

    private func truncatedHeader(_ file: LDSFile) -> ReaderError {
        ReaderError(code: .malformedData, reason: "\(file.name) starts with a truncated TLV header")
    }

    /// One READ BINARY, with the Le fallbacks. `bySFI` selects the file with its short identifier (offset ≤ 255).
    private func readChunk(file: LDSFile, offset: Int, length: Int, bySFI: Bool, doing what: String) throws -> [UInt8] {
        var ne = length
        var attempts = 0
        while true {
            attempts += 1
            let command: CommandAPDU
            if bySFI {
                command = CommandAPDU(ins: 0xB0, p1: 0x80 | file.shortFileID, p2: UInt8(offset), ne: ne)
            } else if offset <= 0x7FFF {
                command = CommandAPDU(ins: 0xB0, p1: UInt8(offset >> 8), p2: UInt8(offset & 0xFF), ne: ne)
            } else {
                let o = offset > 0xFFFF ? [UInt8(offset >> 16), UInt8(offset >> 8 & 0xFF), UInt8(offset & 0xFF)] : [UInt8(offset >> 8), UInt8(offset & 0xFF)]
                command = CommandAPDU(ins: 0xB1, p1: 0, p2: 0, data: TLVWriter.encode(tag: 0x54, value: o), ne: min(ne + 4, usesExtendedLength ? 65536 : 256))
            }
            let response = try send(command, doing: what)
            switch response.statusWord {
            case .success, .endOfFileWarning:
                if command.ins == 0xB1 {
                    guard let tlv = try? TLV(parsing: response.data), tlv.tag == 0x53 else {
                        throw ReaderError(code: .malformedData, reason: "\(what): odd READ BINARY answer without DO'53'")
                    }
                    return Array(tlv.value)
                }
                return response.data
            case .wrongLength where ne > shortLe && attempts < 3:
                // The chip refuses extended Le: short reads for the rest of the session.
                usesExtendedLength = false
                workingLe = shortLe
                ne = min(ne, shortLe)
            case .wrongLe where attempts < 3:
                ne = response.statusWord.exactLe ?? ne
                workingLe = min(workingLe, ne)
            case .securityStatusNotSatisfied:
                throw ReaderError(code: .fileUnreadable, reason: "\(file.name): access denied", statusWord: response.statusWord)
            case .fileNotFound:
                throw ReaderError(code: .fileUnreadable, reason: "\(file.name): not on this card", statusWord: response.statusWord)
            case .wrongP1P2:
                throw ReaderError(code: .malformedData, reason: "\(file.name): offset \(offset) is past the end", statusWord: response.statusWord)
            default:
                throw ReaderError(code: .protocolError, reason: "\(what): the chip answered \(response.statusWord)", statusWord: response.statusWord)
            }
        }
    }

    /// Reads EF.COM, every data group it lists (DG3/DG4 only with Terminal Authentication, which this session
    /// does not perform: they are reported as skipped, costing no APDU) and EF.SOD.
    public func readAll() throws -> ReadResult {
        var result = ReadResult(accessControl: accessControl)
        let comBytes = try readFile(.com)
        result.files[.com] = comBytes
        let com: EFCOM
        do {
            com = try EFCOM(bytes: comBytes)
        } catch {
            throw ReaderError(code: .malformedData, reason: "EF.COM: \(error)")
        }
        for group in com.dataGroups {
            if group.needsTerminalAuthentication {
                result.skipped[group] = "needs Terminal Authentication (EAC)"
                continue
            }
            do {
                result.files[group] = try readFile(group)
            } catch let error as ReaderError where error.code == .fileUnreadable {
                result.skipped[group] = error.description
            }
        }
        result.files[.sod] = try readFile(.sod)
        result.apduCount = meter.apduCount
        result.bytesSent = meter.bytesSent
        result.bytesReceived = meter.bytesReceived
        return result
    }
}

/// The raw files a read brought back and what it cost on the wire.
public struct ReadResult: Sendable {
    public var files: [LDSFile: [UInt8]] = [:]
    /// Files listed but not read, with the reason.
    public var skipped: [LDSFile: String] = [:]
    public var accessControl: String?
    public var apduCount = 0
    public var bytesSent = 0
    public var bytesReceived = 0
}
