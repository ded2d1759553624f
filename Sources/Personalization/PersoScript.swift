import CardCore
import CardCrypto
import ChipAccess
import ChipImage
import LDS

/// The ordered commands that turn a blank chip into a given card image (DESIGN.md, "PersoScript"): for every
/// file CREATE FILE, SELECT and UPDATE BINARY in the largest chunks the link takes; PUT DATA of each secret; the
/// lock. The writer replays it (inside SCP03 for the `secure` command set) and journals each step.
public struct PersoScript: Sendable {
    public struct Step: Sendable, CustomStringConvertible {
        public enum Kind: Sendable, Hashable {
            case createFile(UInt16, size: Int)
            case selectFile(UInt16)
            case write(UInt16, offset: Int, count: Int)
            case putSecret(PersoProtocol.Tag)
            case lock
        }
        public let kind: Kind
        public let command: CommandAPDU

        /// Whether the command carries a secret (a key, the CAN, the MRZ key): never logged, and only inside a
        /// secure channel on a `secure` chip.
        public var carriesSecret: Bool {
            if case .putSecret = kind { return true }
            return false
        }

        /// What the step does, never its data.
        public var description: String {
            switch kind {
            case .createFile(let fid, let size): return String(format: "CREATE FILE %04X (%d bytes)", fid, size)
            case .selectFile(let fid): return String(format: "SELECT %04X", fid)
            case .write(let fid, let offset, let count):
                return String(format: "UPDATE BINARY %04X @%d (%d bytes)", fid, offset, count)
            case .putSecret(let tag): return "PUT DATA \(tag) (secret)"
            case .lock: return "LOCK"
            }
        }
    }

    public let aid: [UInt8]
    public let commandSet: PersoCommandSet
    public let steps: [Step]

    /// The largest UPDATE BINARY data a command can carry: 255 bytes short, 65535 extended; inside SCP03 less
    /// the C-MAC and the encryption's padding to whole AES blocks. JMRTD's applet reads a one-byte Lc (it does
    /// not implement Java Card's ExtendedLength), so `jmrtd-applet` writes in short commands whatever the ATR says.
    public static func chunkSize(commandSet: PersoCommandSet, extendedLength: Bool) -> Int {
        let lc = extendedLength && commandSet == .secure ? 65535 : 255
        guard commandSet == .secure else { return lc }
        return (lc - 8) / 16 * 16 - 1
    }

    /// Compiles `image` for `commandSet`: every file of the master file and of the application, then the secrets
    /// the image holds, then the lock. Throws for a file no UPDATE BINARY can address (over 32767 bytes).
    public static func compile(_ image: CardImage, commandSet: PersoCommandSet, extendedLength: Bool)
        throws(PreparationError)
        -> PersoScript
    {
        let chunk = chunkSize(commandSet: commandSet, extendedLength: extendedLength)
        var steps: [Step] = []
        let files = image.masterFiles + (image.applications.first?.files ?? [])
        for file in files {
            guard !file.content.isEmpty, file.content.count <= 0x7FFF else {
                throw PreparationError(
                    reason: "\(file.name) of \(file.content.count) bytes cannot be written (1…32767)")
            }
            steps.append(
                Step(
                    kind: .createFile(file.fileID, size: file.content.count),
                    command: PersoProtocol.createFile(fid: file.fileID, size: file.content.count)))
            steps.append(Step(kind: .selectFile(file.fileID), command: PersoProtocol.selectFile(fid: file.fileID)))
            var offset = 0
            while offset < file.content.count {
                let count = min(chunk, file.content.count - offset)
                steps.append(
                    Step(
                        kind: .write(file.fileID, offset: offset, count: count),
                        command: PersoProtocol.updateBinary(
                            offset: offset, data: Array(file.content[offset..<offset + count]))))
                offset += count
            }
        }
        /// A PUT DATA longer than one command (an RSA key without extended length) goes as an ISO 7816 command
        /// chain: CLA bit 10 on every part but the last.
        func put(_ tag: PersoProtocol.Tag, _ command: CommandAPDU) {
            guard command.data.count > chunk else {
                steps.append(Step(kind: .putSecret(tag), command: command))
                return
            }
            var offset = 0
            while offset < command.data.count {
                let end = min(offset + chunk, command.data.count)
                let last = end == command.data.count
                steps.append(
                    Step(
                        kind: .putSecret(tag),
                        command: CommandAPDU(
                            cla: last ? command.cla : command.cla | 0x10, ins: command.ins, p1: command.p1,
                            p2: command.p2, data: Array(command.data[offset..<end]))))
                offset = end
            }
        }
        let s = image.secrets
        if let key = s.bacKey {
            put(.bacKeySeed, PersoProtocol.putBACKey(key))
        }
        if let can = s.can {
            put(.can, PersoProtocol.putData(.can, value: Array(can.utf8)))
        }
        // Keys in the applet's own formats: EC CA key as its parts, RSA AA key as modulus and private exponent.
        func key(_ der: [UInt8]?, _ what: String) throws(PreparationError) -> AsymmetricKey? {
            guard let der else { return nil }
            do { return try AsymmetricKey(privateKeyDER: der) } catch {
                throw PreparationError(reason: "the image's \(what) key cannot be read: \(error)")
            }
        }
        if let ca = try key(s.chipAuthenticationKey, "Chip Authentication") {
            do { put(.chipAuthenticationKey, PersoProtocol.putECKey(try PersoProtocol.ECKeyParts(ca))) } catch {
                throw PreparationError(reason: "the Chip Authentication key cannot be written: \(error)")
            }
        }
        if let x = s.chipAuthenticationDHKey {
            put(.chipAuthenticationDHKey, PersoProtocol.putData(.chipAuthenticationDHKey, value: x))
        }
        if image.bacEnabled == false {
            put(.chipOptions, PersoProtocol.putData(.chipOptions, value: [0x01]))
        }
        if let aa = try key(s.activeAuthenticationKey, "Active Authentication") {
            switch aa.kind {
            case .rsa:
                do {
                    let commands = PersoProtocol.putRSAKey(
                        modulus: try aa.component("n"), privateExponent: try aa.component("d"))
                    put(.activeAuthenticationModulus, commands[0])
                    put(.activeAuthenticationPrivateExponent, commands[1])
                } catch {
                    throw PreparationError(reason: "the Active Authentication key cannot be written: \(error)")
                }
            default:
                guard let der = s.activeAuthenticationKey else { break }
                put(.activeAuthenticationKey, PersoProtocol.putData(.activeAuthenticationKey, value: der))
            }
        }
        // EAC: the CVCA's certificate (the oldest trust point first: the chip keeps the newest first) and the
        // chip's current date.
        if let trust = image.terminalAuthentication {
            for cvca in trust.trustPoints.reversed() {
                put(.cvcaCertificate, PersoProtocol.putData(.cvcaCertificate, value: cvca))
            }
            put(.currentDate, PersoProtocol.putData(.currentDate, value: trust.currentDate))
        }
        steps.append(Step(kind: .lock, command: PersoProtocol.lock))
        return PersoScript(
            aid: image.applications.first?.aid ?? VietnameseCard.applicationID, commandSet: commandSet,
            steps: steps)
    }
}
