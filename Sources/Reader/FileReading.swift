import CardCore
import CardCrypto
import ChipAccess
import LDS

// Reading files with the fewest round trips the chip allows, and the chip's tolerances.
extension ReaderSession {
    /// Reads one whole file. Throws `fileUnreadable` when the chip refuses it (6982, 6A82).
    ///
    /// The first READ BINARY asks for the most the channel allows (one round trip for most files on a good chip).
    /// Chips that refuse that, or refuse short file identifiers, are read the way they allow, learnt once per
    /// session: SELECT by identifier, then the header, then exactly the remaining length. Nothing is ever asked
    /// beyond a length already known.
    public func readFile(_ file: LDSFile) throws -> [UInt8] {
        try readFile(file, firstReadLimit: nil)
    }

    /// `selectFallback` false: a refusal by short file identifier is final (EF.CardAccess: "no PACE offered").
    func readFile(_ file: LDSFile, firstReadLimit: Int?, selectFallback: Bool = true) throws -> [UInt8] {
        let what = "reading \(file.name)"
        var data = try firstChunk(of: file, limit: firstReadLimit, selectFallback: selectFallback, doing: what)
        guard !data.isEmpty else { return data }
        let total = try totalLength(of: data, file: file)
        report(.reading(file: file.name, bytes: min(data.count, total), of: total))
        while data.count < total {
            let want = min(workingLe, total - data.count)
            let chunk: [UInt8]
            do {
                chunk = try readChunk(file: file, offset: data.count, length: want, bySFI: false, doing: what)
            } catch let refusal as ChunkRefusal {
                throw refusal.readerError(file: file, offset: data.count, doing: what)
            }
            guard !chunk.isEmpty else {
                throw ReaderError(
                    code: .malformedData, reason: "\(file.name) ends after \(data.count) of \(total) bytes")
            }
            if chunk.count < want { workingLe = chunk.count }  // the chip's own limit: remember it
            data += chunk
            report(.reading(file: file.name, bytes: min(data.count, total), of: total))
        }
        return data.count > total ? Array(data.prefix(total)) : data
    }

    /// Enough for any LDS file's header: a tag of up to 2 bytes and a length of up to 5.
    static let headerLength = 8

    /// The first chunk of a file, by short file identifier unless the chip refuses those (then SELECT), at the
    /// largest Le unless the chip refuses to read past the end (then the header alone).
    func firstChunk(of file: LDSFile, limit: Int?, selectFallback: Bool = true, doing what: String) throws -> [UInt8] {
        var bySFI = !selectsFilesByIdentifier
        if !bySFI { try selectFile(file, doing: what) }
        // On a chip that refuses to read past the end, a file shorter than the usual header read is asked for in
        // less: 8 bytes hold any LDS header, 4 a long-form length up to 64 KiB, 2 a short-form one.
        var headerLength = Self.headerLength
        while true {
            do {
                return try readChunk(
                    file: file, offset: 0,
                    length: readsHeaderFirst ? min(headerLength, workingLe) : min(workingLe, limit ?? workingLe),
                    bySFI: bySFI, doing: what)
            } catch let refusal as ChunkRefusal {
                switch refusal {
                case .shortFileIDRefused(let sw) where bySFI && selectFallback:
                    // Either the chip has no short identifiers or the file is missing: SELECT tells which.
                    try selectFile(file, doing: what)
                    bySFI = false
                    if !selectsFilesByIdentifier {
                        selectsFilesByIdentifier = true
                        note(
                            "the chip refuses READ BINARY by short file identifier (\(sw.hex)); files were selected by identifier"
                        )
                    }
                case .pastEnd(let sw) where !readsHeaderFirst, .refused(let sw) where !readsHeaderFirst:
                    // A warning or an error on an over-long first read (with its data, if any, discarded): read the
                    // header, then exactly the rest, for this file and the rest of the session.
                    readsHeaderFirst = true
                    note(
                        "the chip will not read past the end of a file (\(sw.hex)); each file's header was read first, then exactly the rest"
                    )
                case .pastEnd where readsHeaderFirst && headerLength > 2:
                    headerLength /= 2
                default:
                    throw refusal.readerError(file: file, offset: 0, doing: what)
                }
            }
        }
    }

    /// SELECT an elementary file by its identifier (P2 = 0C: no FCI).
    func selectFile(_ file: LDSFile, doing what: String) throws {
        let response = try send(
            CommandAPDU(ins: 0xA4, p1: 0x02, p2: 0x0C, data: [UInt8(file.fileID >> 8), UInt8(file.fileID & 0xFF)]),
            doing: what)
        switch response.statusWord {
        case .success: return
        case .fileNotFound:
            throw ReaderError(
                code: .fileUnreadable, reason: "\(file.name): not on this card", statusWord: response.statusWord)
        case .securityStatusNotSatisfied:
            throw ReaderError(
                code: .fileUnreadable, reason: "\(file.name): access denied", statusWord: response.statusWord)
        default:
            throw ReaderError(
                code: .protocolError, reason: "\(what): SELECT was answered \(response.statusWord)",
                statusWord: response.statusWord)
        }
    }

    /// A READ BINARY refused in a way the caller may work around.
    enum ChunkRefusal: Error {
        /// Refused by short file identifier, whatever the status (6A82, 6A86, 6B00, 6D00, 6981, 6985, 6986, …):
        /// the chip has none (or takes P1 as an offset), or there is no such file. SELECT tells which.
        case shortFileIDRefused(StatusWord)
        /// A read asking past the end of the file answered with a warning (62xx, 63xx) and no verified data, or
        /// refused (6B00, 6700 at a short Le).
        case pastEnd(StatusWord)
        /// Anything else the chip would not do.
        case refused(StatusWord)

        func readerError(file: LDSFile, offset: Int, doing what: String) -> ReaderError {
            switch self {
            case .shortFileIDRefused(let sw) where sw == .fileNotFound:
                return ReaderError(code: .fileUnreadable, reason: "\(file.name): not on this card", statusWord: sw)
            case .pastEnd(let sw) where offset > 0:
                return ReaderError(
                    code: .malformedData, reason: "\(file.name): offset \(offset) is past the end", statusWord: sw)
            case .shortFileIDRefused(let sw), .pastEnd(let sw), .refused(let sw):
                return ReaderError(code: .protocolError, reason: "\(what): the chip answered \(sw)", statusWord: sw)
            }
        }
    }

    /// One READ BINARY, with the Le fallbacks. `bySFI` selects the file with its short identifier (offset ≤ 255).
    func readChunk(file: LDSFile, offset: Int, length: Int, bySFI: Bool, doing what: String) throws -> [UInt8] {
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
                guard offset <= 0xFF_FFFF else {
                    throw ReaderError(code: .malformedData, reason: "\(what): offset \(offset) is past any file")
                }
                let o =
                    offset > 0xFFFF
                    ? [UInt8(offset >> 16), UInt8(offset >> 8 & 0xFF), UInt8(offset & 0xFF)]
                    : [UInt8(offset >> 8), UInt8(offset & 0xFF)]
                command = CommandAPDU(
                    ins: 0xB1, p1: 0, p2: 0, data: TLVWriter.encode(tag: 0x54, value: o),
                    ne: min(ne + 4, usesExtendedLength ? 65536 : 256))
            }
            let response = try send(command, doing: what)
            switch response.statusWord {
            case .endOfFileWarning where response.data.isEmpty:
                // "End of file" and nothing with it: the chip will not read past the end.
                throw ChunkRefusal.pastEnd(response.statusWord)
            case .success, .endOfFileWarning:
                if command.ins == 0xB1 {
                    guard let tlv = try? TLV(parsing: response.data), tlv.tag == 0x53 else {
                        throw ReaderError(
                            code: .malformedData, reason: "\(what): odd READ BINARY answer without DO'53'")
                    }
                    return Array(tlv.value)
                }
                return response.data
            case .wrongLength where ne > shortLe && attempts < 3:
                // The chip refuses extended Le: short reads for the rest of the session.
                usesExtendedLength = false
                workingLe = shortLe
                ne = min(ne, shortLe)
            case .wrongLength:
                throw ChunkRefusal.pastEnd(response.statusWord)
            case .wrongLe where attempts < 3:
                ne = response.statusWord.exactLe ?? ne
                workingLe = min(workingLe, ne)
            case .securityStatusNotSatisfied:
                throw ReaderError(
                    code: .fileUnreadable, reason: "\(file.name): access denied", statusWord: response.statusWord)
            case let sw where bySFI:
                // Any other refusal of a read by short file identifier: SELECT the file instead (by meaning, not
                // by a list: a chip that takes P1 as an offset answers 6985 or 6986, others 6A82, 6A86, 6D00, …).
                throw ChunkRefusal.shortFileIDRefused(sw)
            case .fileNotFound:
                throw ReaderError(
                    code: .fileUnreadable, reason: "\(file.name): not on this card", statusWord: response.statusWord)
            case .wrongP1P2:
                throw ChunkRefusal.pastEnd(response.statusWord)
            case let sw where sw.sw1 == 0x62 || sw.sw1 == 0x63:
                // A warning with no verified data (what it sent, if anything, could not be authenticated).
                throw ChunkRefusal.pastEnd(sw)
            default:
                throw ChunkRefusal.refused(response.statusWord)
            }
        }
    }

    /// The full length of a file from the TLV header at its start (the first chunk holds it).
    func totalLength(of first: [UInt8], file: LDSFile) throws -> Int {
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
        guard headerLength + length <= maxFileSize else {
            throw ReaderError(
                code: .malformedData,
                reason:
                    "\(file.name) announces \(headerLength + length) bytes, more than the limit of \(maxFileSize) (--max-file-size)"
            )
        }
        return headerLength + length
    }

    func truncatedHeader(_ file: LDSFile) -> ReaderError {
        ReaderError(code: .malformedData, reason: "\(file.name) starts with a truncated TLV header")
    }
}

extension ReaderSession {
    /// Reads files the way many readers do (benchmarks and interoperability): SELECT each file by identifier, its
    /// header first, then chunks of at most `maxReadLength` bytes, no extended length.
    public func imitate(maxReadLength: Int) {
        selectsFilesByIdentifier = true
        readsHeaderFirst = true
        usesExtendedLength = false
        imitatedReadLength = max(1, min(maxReadLength, 256))
        workingLe = imitatedReadLength!
    }
}
