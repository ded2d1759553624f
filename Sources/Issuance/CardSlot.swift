import CardCore
import CardEmulator
import ChipAccess
import Foundation
import LDS
import PCSC

#if canImport(Glibc)
    import Glibc
#endif

/// One place a card is personalized in: a PC/SC reader, or an emulated chip. A station works one slot.
public protocol CardSlot: AnyObject {
    var name: String { get }
    /// The card in the slot now, without waiting (recovery at start).
    func presentCard() -> (any CardTransport)?
    /// Waits for a card; nil when `stop` says so first.
    func awaitCard(stop: @escaping () -> Bool) throws -> (any CardTransport)?
    /// Power-cycles the card (between its personalization and its read-back).
    func reset(_ card: any CardTransport) throws
    /// The card is done with: issued (with its image), spoiled, or refused (not a blank chip of this line).
    func release(_ card: any CardTransport, outcome: SlotOutcome, stop: @escaping () -> Bool) throws
}

public enum SlotOutcome: Sendable {
    case issued(CardImage, label: String)
    case spoiled
    case refused

    public var name: String {
        switch self {
        case .issued: "issued"
        case .spoiled: "spoiled"
        case .refused: "refused"
        }
    }
}

/// An emulated chip in a slot that survives the process: its non-volatile state is saved (atomically) after every
/// command that changes it, and served again after a crash. Issued cards go to `cards/`, spoiled ones to
/// `spoiled/`, and a fresh blank chip (a new serial) takes their place.
public final class EmulatedSlot: CardSlot {
    public let name: String
    let folder: URL
    let master: [UInt8]
    let commandSet: PersoCommandSet
    let aid: [UInt8]
    let settings: EmulatorSettings
    let nextSerial: () throws -> [UInt8]
    /// false: the blank chips do not answer GET DATA of their serial (JMRTD's applet); the line assigns one.
    let answersSerial: Bool
    private var chip: EmulatedChip?

    /// `folder` holds `slots/`, `cards/` and `spoiled/`; `nextSerial` numbers new chips (the journal's counter).
    public init(
        index: Int, folder: String, master: [UInt8], commandSet: PersoCommandSet, aid: [UInt8],
        settings: EmulatorSettings = .init(), answersSerial: Bool = true, nextSerial: @escaping () throws -> [UInt8]
    ) throws {
        self.answersSerial = answersSerial
        name = "emulated-\(index)"
        self.folder = URL(fileURLWithPath: folder, isDirectory: true)
        self.master = master
        self.commandSet = commandSet
        self.aid = aid
        self.settings = settings
        self.nextSerial = nextSerial
        for sub in ["slots", "cards", "spoiled"] {
            let dir = self.folder.appendingPathComponent(sub)
            try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
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
        var blank = try BlankChip(serial: try nextSerial(), master: master, commandSet: commandSet, aid: aid)
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

/// A PC/SC reader: waits for each card, personalizes it, waits for it to be taken away.
public final class PCSCSlot: CardSlot {
    public let name: String
    let context: PCSCContext
    private var card: PCSCCard?

    /// Each slot has a PC/SC context of its own: pcsc-lite serializes the calls on one context, so a station
    /// waiting for a card removal would hold up another station's APDUs.
    public init(reader: String) throws {
        name = reader
        context = try PCSCContext()
    }

    public func presentCard() -> (any CardTransport)? {
        guard let state = try? context.states().first(where: { $0.reader == name }), state.cardPresent else {
            return nil
        }
        // A card already in the reader: its state is unknown (another program may have used it).
        card = try? context.connect(reader: name, reset: true)
        return card
    }

    public func awaitCard(stop: @escaping () -> Bool) throws -> (any CardTransport)? {
        if let card { return card }
        while !stop() {
            do {
                _ = try context.waitForCard(reader: name, timeout: 0.5)
                card = try context.connect(reader: name)
                return card
            } catch let error where error.code == .timeout {
                continue
            }
        }
        return nil
    }

    public func reset(_ card: any CardTransport) throws {
        try self.card?.reconnect(reset: true)
    }

    public func release(_ card: any CardTransport, outcome: SlotOutcome, stop: @escaping () -> Bool) throws {
        self.card?.disconnect(reset: true)  // leave the card as found
        self.card = nil
        // The operator (or the feeder) takes the card out; the next one comes in.
        while !stop() {
            do {
                try context.waitForRemoval(reader: name, timeout: 0.5)
                return
            } catch let error where error.code == .timeout {
                continue
            }
        }
    }
}

/// Writes `data` beside `url`, then renames it over `url` (POSIX rename is atomic): a crash leaves the old file or
/// the new, never half of one.
func atomicWrite(_ data: Data, to url: URL) throws {
    let temporary = url.appendingPathExtension("tmp")
    try data.write(to: temporary)
    guard rename(temporary.path, url.path) == 0 else {
        throw JournalError("cannot rename \(temporary.path) to \(url.path) (errno \(errno))")
    }
}
