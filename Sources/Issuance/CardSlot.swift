import CardCore
import ChipAccess
import ChipImage
import Foundation
import LDS

#if canImport(Glibc)
    import Glibc
#endif

/// One place a card is personalized in: a PC/SC reader, or an emulated chip (their adapters are in `IssuanceSlots`,
/// outside the line's core). A station works one slot.
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
