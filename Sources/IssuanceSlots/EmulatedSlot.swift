import CardCore
import CardEmulator
import ChipAccess
import ChipImage
import Foundation
import Issuance
import LDS

#if canImport(Glibc)
    import Glibc
#endif

/// An emulated chip in a slot that survives the process: its non-volatile state is saved (atomically) after every
/// command that changes it, and served again after a crash. Issued cards go to `cards/`, spoiled ones to
/// `spoiled/`, and a fresh blank chip (a new serial) takes their place.
public final class EmulatedSlot: CardSlot {
    public let name: String
    let folder: URL
    /// Where the blank chips' SCP03 keys come from (the card maker's side of the batch master key).
    let keys: any TransportKeyProvider
    let commandSet: PersoCommandSet
    let aid: [UInt8]
    let settings: EmulatorSettings
    let nextSerial: () throws -> [UInt8]
    /// false: the blank chips do not answer GET DATA of their serial (JMRTD's applet); the line assigns one.
    let answersSerial: Bool
    private var chip: EmulatedChip?

    /// `folder` holds `slots/`, `cards/` and `spoiled/`; `nextSerial` numbers new chips (the journal's counter).
    public convenience init(
        index: Int, folder: String, master: [UInt8], commandSet: PersoCommandSet, aid: [UInt8],
        settings: EmulatorSettings = .init(), answersSerial: Bool = true, nextSerial: @escaping () throws -> [UInt8]
    ) throws {
        try self.init(
            index: index, folder: folder, keys: SoftwareTransportKeys(master: master), commandSet: commandSet, aid: aid,
            settings: settings, answersSerial: answersSerial, nextSerial: nextSerial)
    }

    /// The same with the blank chips' keys from `keys` (a key file, or a PKCS#11 token).
    public init(
        index: Int, folder: String, keys: any TransportKeyProvider, commandSet: PersoCommandSet, aid: [UInt8],
        settings: EmulatorSettings = .init(), answersSerial: Bool = true, nextSerial: @escaping () throws -> [UInt8]
    ) throws {
        self.answersSerial = answersSerial
        name = "emulated-\(index)"
        self.folder = URL(fileURLWithPath: folder, isDirectory: true)
        self.keys = keys
        self.commandSet = commandSet
        self.aid = aid
        self.settings = settings
        self.nextSerial = nextSerial
        // The chips' own memory (their keys, CAN, MRZ key): owner-only folders and files, apart from the line's output.
        try PrivateFile.folder(self.folder.path)
        for sub in ["slots", "cards", "spoiled"] {
            let dir = self.folder.appendingPathComponent(sub)
            try PrivateFile.folder(dir.path)
            // A write a kill cut short before its rename: the old file (or none) is the truth; the rest is litter.
            // (Slots are made before the line writes anything.)
            for name in (try? FileManager.default.contentsOfDirectory(atPath: dir.path)) ?? []
            where name.hasSuffix(".tmp") {
                try? FileManager.default.removeItem(at: dir.appendingPathComponent(name))
            }
        }
        if let data = try? Data(contentsOf: stateFile) {
            chip = try attach(
                try EmulatedChip(
                    state: try JSONDecoder().decode(EmulatedChip.State.self, from: data), settings: settings))
        }
    }

    var stateFile: URL { folder.appendingPathComponent("slots/\(name).json") }

    private func attach(_ chip: EmulatedChip) -> EmulatedChip {
        let file = stateFile
        chip.onNonVolatileChange = { state in
            // Write then rename: a crash leaves the old state or the new, never half of one.
            guard let data = try? JSONEncoder().encode(state) else { return }
            try? atomicWrite(data, to: file)
        }
        return chip
    }

    private func save(_ chip: EmulatedChip) throws {
        try atomicWrite(try JSONEncoder().encode(chip.state), to: stateFile)
    }

    public func presentCard() -> (any CardTransport)? { chip }

    public func awaitCard(stop: @escaping () -> Bool) throws -> (any CardTransport)? {
        if stop() { return nil }
        if let chip { return chip }
        let serial = try nextSerial()
        var blank = try BlankChip(
            serial: serial, keys: try keys.staticKeys(serial: serial), commandSet: commandSet, aid: aid)
        if !answersSerial { blank.answersSerial = false }
        let fresh = attach(try EmulatedChip(blank: blank, settings: settings))
        try save(fresh)
        chip = fresh
        return fresh
    }

    public func reset(_ card: any CardTransport) throws { chip?.reset() }

    public func release(_ card: any CardTransport, outcome: SlotOutcome, stop: @escaping () -> Bool) throws {
        guard let chip else { return }
        // A chip without a serial of its own (JMRTD's applet) still gets a file name of its own.
        let serial = chip.serial?.hexString ?? "no-serial-" + UUID().uuidString.prefix(8)
        switch outcome {
        case .issued(let image, let label):
            var issued = chip.image
            issued.profile = image.profile
            try atomicWrite(try issued.json(), to: folder.appendingPathComponent("cards/\(label)-\(serial).json"))
        case .spoiled, .refused:
            try atomicWrite(
                try JSONEncoder().encode(chip.state), to: folder.appendingPathComponent("spoiled/\(serial).json"))
        }
        try? FileManager.default.removeItem(at: stateFile)
        self.chip = nil
    }
}
