import CardCore
import CardEmulator
import ChipAccess
import Foundation
import Issuance
import LDS
import Personalization
import Testing

@Suite("Faults at every APDU index of a personalization")
struct PersoFaultTests {
    @Test(
        "The link drops after every APDU index of a perso (SCP03): a typed error each time; the chip is then either still blank, or locked and refuses a second write; a retry on a blank one issues a card that reads back genuine"
    )
    func dropAtEveryIndex() throws {
        let image = try Line.image()
        let script = try PersoScript.compile(image, commandSet: .secure, extendedLength: true)
        let clean = try Line.blank(500)
        let total = try PersoWriter(transportKeys: SoftwareTransportKeys(master: Line.master)).write(script, to: clean).apdus
        #expect(total > 10)
        var blankAfter = 0
        var lockedAfter = 0
        var reissued = 0
        var refused = 0
        for k in 0..<total {
            let chip = try EmulatedChip(
                blank: try BlankChip(
                    serial: BlankChip.serial(batch: 1, index: 600 + k), master: Line.master, commandSet: .secure),
                settings: EmulatorSettings(faultPlan: FaultPlan(dropLinkAfterCommands: k)))
            let start = Date()
            #expect(throws: PersoError.self, "drop after \(k)") {
                _ = try PersoWriter(transportKeys: SoftwareTransportKeys(master: Line.master)).write(script, to: chip)
            }
            #expect(Date().timeIntervalSince(start) < 5)
            // The card taken out and put back: the chip as its non-volatile memory left it, in a fresh session.
            let back = try EmulatedChip(state: chip.state)
            if back.isBlank {
                blankAfter += 1
                // A chip written halfway and not locked may accept a fresh write (then it must read back genuine)
                // or refuse it with a typed error (then the line spoils it); it never ends up half-issued.
                do {
                    _ = try PersoWriter(transportKeys: SoftwareTransportKeys(master: Line.master)).write(script, to: back)
                    let outcome = ReadBack.verify(image, on: back, trust: Line.trust, today: Line.today)
                    #expect(outcome.passed, "retry after a drop at \(k): \(outcome.reason)")
                    reissued += 1
                } catch {
                    // Typed (the writer throws only PersoError); the chip is refused, untouched by the retry.
                    refused += 1
                }
            } else {
                lockedAfter += 1
                // Locked before the drop: the card is complete; a second write is refused as not blank.
                #expect(ReadBack.verify(image, on: back, trust: Line.trust, today: Line.today).passed)
                #expect(throws: PersoError.self) {
                    _ = try PersoWriter(transportKeys: SoftwareTransportKeys(master: Line.master)).write(script, to: back)
                }
            }
        }
        #expect(blankAfter + lockedAfter == total && blankAfter > 0)
        #expect(reissued + refused == blankAfter && reissued > 0, "reissued \(reissued), refused \(refused)")
    }

    @Test(
        "Each odd answer at every APDU index of a perso (6982, 6A82, 6700, 6300, 6Cxx, a wrong R-MAC): a typed error or a card that reads back genuine; the chip is never half-issued, and a locked one reads back genuine",
        arguments: ["6982", "6A82", "6700", "6300", "6C10", "wrong R-MAC"])
    func oddAnswerAtEveryIndex(_ fault: String) throws {
        let image = try Line.image()
        let script = try PersoScript.compile(image, commandSet: .secure, extendedLength: true)
        let total = try PersoWriter(transportKeys: SoftwareTransportKeys(master: Line.master)).write(script, to: try Line.blank(501)).apdus
        var failed = 0
        for k in 1...total {
            var plan = FaultPlan()
            if fault == "wrong R-MAC" {
                plan.wrongMACForCommand = [k]
            } else {
                plan.statusForCommand = [k: StatusWord(rawValue: UInt16(fault, radix: 16) ?? 0)]
            }
            let chip = try EmulatedChip(
                blank: try BlankChip(
                    serial: BlankChip.serial(batch: 2, index: 700 + k), master: Line.master, commandSet: .secure),
                settings: EmulatorSettings(faultPlan: plan))
            let start = Date()
            do {
                _ = try PersoWriter(transportKeys: SoftwareTransportKeys(master: Line.master)).write(script, to: chip)
                // Survived (an answer the writer does not need): the card must be complete and genuine.
                let outcome = ReadBack.verify(image, on: chip, trust: Line.trust, today: Line.today)
                #expect(outcome.passed, "\(fault) at \(k): written but \(outcome.reason)")
            } catch {
                // Typed by the writer's signature (PersoError).
                failed += 1
                // The chip as its memory left it: blank (the line may try again or spoil it) or locked and whole.
                let back = try EmulatedChip(state: chip.state)
                if !back.isBlank {
                    let outcome = ReadBack.verify(image, on: back, trust: Line.trust, today: Line.today)
                    #expect(outcome.passed, "\(fault) at \(k): locked but \(outcome.reason)")
                }
            }
            #expect(Date().timeIntervalSince(start) < 5, "\(fault) at \(k)")
        }
        #expect(failed > total / 2, "\(fault): only \(failed) of \(total) writes failed")
    }
}
