import CardCore
import Foundation
import Issuance
import LDS
import PCSC

#if canImport(Glibc)
    import Glibc
#endif

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

/// Writes `data` beside `url`, then renames it over `url`: a crash leaves the old file or the new, never half of
/// one. Mode 0600 from the start: a chip's state holds its keys and CAN.
func atomicWrite(_ data: Data, to url: URL) throws {
    try PrivateFile.write(data, to: url.path)
}
