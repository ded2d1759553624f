import CardCore
import CardEmulator
import ChipAccess
import ChipImage
import Foundation
import LDS
import Personalization
import Reader
import Testing
import Verification

/// Faults at every step of a read: the link drops at every APDU index, and the chip answers each odd status at
/// every index. Each read ends, within a bounded time, in a typed error or in a result whose files are exactly the
/// card's (a fault is never turned into wrong data or a pass).
@Suite("Faults at every APDU index of a Vietnamese read")
struct FaultEveryIndexTests {
    static let today = CalendarDate(year: 2026, month: 11, day: 30)!
    nonisolated(unsafe) static let pki: TestPKI = try! TestPKI()
    /// The sample record prepared and signed for real: a clean read of it is genuine.
    nonisolated(unsafe) static let image: CardImage = try! DataPreparation.prepare(
        SampleRecord.record, signer: pki.signer, validator: RecordValidator(today: today))
    /// EF.COM included: a faulted read that loses EF.SOD reads EF.COM instead, and every file it returns is
    /// compared with the reference's.
    static var options: ReadOptions {
        var options = ReadOptions(trust: TrustStore(anchors: [pki.csca]), today: today)
        options.readsEFCOM = true
        return options
    }
    static let can = "000000"  // the sample record's ID is 001090000000

    /// A clean read: its APDU count and files are the reference.
    static func clean(extended: Bool) throws -> ReadResult {
        let chip = try EmulatedChip(image: image, settings: EmulatorSettings(supportsExtendedLength: extended))
        return try ReaderSession(transport: chip).readCard(.can(can), options: options)
    }

    static func read(_ plan: FaultPlan, extended: Bool) -> (Result<ReadResult, any Error>, seconds: Double) {
        let start = Date()
        let result: Result<ReadResult, any Error> = Result {
            let chip = try EmulatedChip(
                image: image, settings: EmulatorSettings(supportsExtendedLength: extended, faultPlan: plan))
            return try ReaderSession(transport: chip).readCard(.can(can), options: options)
        }
        return (result, Date().timeIntervalSince(start))
    }

    @Test(
        "The link drops after every APDU index: a typed card-removed error each time, then a fresh session reads the card",
        arguments: [true, false])
    func dropAtEveryIndex(_ extended: Bool) throws {
        let reference = try Self.clean(extended: extended)
        #expect(reference.assessment.genuine)
        for k in 0..<reference.apduCount {
            let (outcome, seconds) = Self.read(FaultPlan(dropLinkAfterCommands: k), extended: extended)
            #expect(seconds < 5, "drop after \(k): took \(seconds) s")
            switch outcome {
            case .success(let r):
                Issue.record(
                    "drop after \(k) of \(reference.apduCount): the read ended without an error (\(r.apduCount) APDUs)")
            case .failure(let error):
                let code = (error as? ReaderError)?.code
                #expect(code == .cardRemoved, "drop after \(k): \(error)")
            }
        }
        // A retry is a fresh session on the same card: it reads it whole.
        let again = try Self.clean(extended: extended)
        #expect(again.files == reference.files && again.apduCount == reference.apduCount)
    }

    /// What a fault under secure messaging may do to a read: end it in a typed error, or leave the card's exact
    /// files (a fault before the session, or one the reader survives), never a pass without every check.
    static func check(_ outcome: Result<ReadResult, any Error>, reference: ReadResult, what: String) -> Bool {
        switch outcome {
        case .success(let r):
            // Whatever was read is the card's own bytes.
            for (file, bytes) in r.files {
                #expect(reference.files[file] == bytes, "\(what): \(file.name) differs from the card's")
            }
            // A pass needs every check: a file the fault kept from being read, or a check it broke, is not one.
            // EF.COM is not signed and not needed: a fault that kept it out may still leave a genuine card.
            if r.assessment.authenticity != .notGenuine {
                #expect(
                    r.files.filter { $0.key != .com } == reference.files.filter { $0.key != .com },
                    "\(what): passed without every signed file")
                #expect(
                    r.checks.chipAuthentication.status == .passed && r.checks.activeAuthentication.status == .passed,
                    "\(what): passed without CA and AA")
            }
            return true
        case .failure(let error):
            #expect(error is ReaderError, "\(what): not a typed error: \(error)")
            return false
        }
    }

    @Test(
        "Under secure messaging, at every APDU index: a wrong MAC or SSC is survived (the card opened again, still genuine), an unprotected error ends in a typed error or the card's exact files; a retry on the same chip reads it genuine",
        arguments: ["wrong MAC", "wrong SSC", "unprotected 6982"])
    func secureMessagingFaultAtEveryIndex(_ fault: String) throws {
        let reference = try Self.clean(extended: true)
        var failed = 0
        for k in 1...reference.apduCount {
            var plan = FaultPlan()
            switch fault {
            case "wrong MAC": plan.wrongMACForCommand = [k]
            case "wrong SSC": plan.wrongSSCForCommand = [k]
            default: plan.plainStatusForCommand = [k: .securityStatusNotSatisfied]
            }
            let start = Date()
            let chip = try EmulatedChip(
                image: Self.image, settings: EmulatorSettings(supportsExtendedLength: true, faultPlan: plan))
            let outcome = Result { try ReaderSession(transport: chip).readCard(.can(Self.can), options: Self.options) }
            #expect(Date().timeIntervalSince(start) < 5, "\(fault) at \(k)")
            // One garbled answer never changes the verdict: the reader opens the card again and carries on.
            if fault != "unprotected 6982", case .success(let r) = outcome {
                #expect(r.assessment.genuine && r.files == reference.files, "\(fault) at \(k): \(r.assessment)")
            }
            if !Self.check(outcome, reference: reference, what: "\(fault) at \(k)") {
                failed += 1
                // A retry opens a fresh session (PACE again) on the same chip, whose fault is spent.
                let again = try ReaderSession(transport: chip).readCard(.can(Self.can), options: Self.options)
                #expect(again.assessment.genuine && again.files == reference.files, "\(fault) at \(k): retry")
            }
        }
        // Only a fault in the first protected exchange (SELECT of the application) ends the read.
        #expect(failed <= 2, "\(fault): \(failed) of \(reference.apduCount) reads ended in an error")
    }

    @Test(
        "Each odd status at every APDU index (6Cxx, 61xx, 6700, 6A82, 6982, 6988, 6300): a typed error or the card's exact files, never a pass on altered data",
        arguments: [
            StatusWord(rawValue: 0x6C10), StatusWord(rawValue: 0x6110), StatusWord(rawValue: 0x6700),
            StatusWord(rawValue: 0x6A82), StatusWord(rawValue: 0x6982),
            StatusWord(rawValue: 0x6988), StatusWord(rawValue: 0x6300),
        ])
    func statusAtEveryIndex(_ status: StatusWord) throws {
        let reference = try Self.clean(extended: true)
        var typed = 0
        var completed = 0
        for k in 1...reference.apduCount {
            let (outcome, seconds) = Self.read(FaultPlan(statusForCommand: [k: status]), extended: true)
            #expect(seconds < 5, "\(status) at \(k): took \(seconds) s")
            if Self.check(outcome, reference: reference, what: "\(status) at \(k)") {
                completed += 1
            } else {
                typed += 1
            }
        }
        #expect(typed + completed == reference.apduCount)
        // Some faults are survived (EF.COM refused, a 6Cxx answered with the exact length): the checks above ran.
        #expect(completed > 0 && typed > 0, "completed \(completed), typed errors \(typed)")
    }
}
