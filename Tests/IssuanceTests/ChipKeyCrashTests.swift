import CardCore
import Foundation
import Issuance
import IssuanceSlots
import Personalization
import Testing

/// A journal the test can kill: from then on every call fails, as it would for a process killed at that moment
/// (nothing more reaches the database).
final class KillSwitchJournal: PersoJournal, @unchecked Sendable {
    let base: any PersoJournal
    private let lock = NSLock()
    private var killed = false
    init(_ base: any PersoJournal) { self.base = base }
    struct Killed: Error {}
    func kill() { lock.withLock { killed = true } }
    private func alive() throws { if lock.withLock({ killed }) { throw Killed() } }

    func begin(batch: BatchRow, records: [(line: Int, idNumber: String?, hash: String, rejection: String?)]) throws {
        try alive()
        try base.begin(batch: batch, records: records)
    }
    func attempts(batch: String, phases: Set<AttemptPhase>?, station: String?) throws -> [AttemptRow] {
        try alive()
        return try base.attempts(batch: batch, phases: phases, station: station)
    }
    func claim(batch: String, chipSerial: String, station: String, reader: String, lease: TimeInterval) throws
        -> Claim?
    {
        try alive()
        return try base.claim(batch: batch, chipSerial: chipSerial, station: station, reader: reader, lease: lease)
    }
    func advance(attempt: Int64, to phase: AttemptPhase, lease: TimeInterval) throws {
        try alive()
        try base.advance(attempt: attempt, to: phase, lease: lease)
    }
    func finish(attempt: Int64, _ phase: AttemptPhase, reason: String?) throws {
        try alive()
        try base.finish(attempt: attempt, phase, reason: reason)
    }
    func fail(batch: String, line: Int, reason: String) throws {
        try alive()
        try base.fail(batch: batch, line: line, reason: reason)
    }
    func event(batch: String?, line: Int?, chip: String?, reader: String?, kind: String, detail: String) throws {
        try alive()
        try base.event(batch: batch, line: line, chip: chip, reader: reader, kind: kind, detail: detail)
    }
    func nextChipNumber() throws -> Int {
        try alive()
        return try base.nextChipNumber()
    }
    func records(batch: String?) throws -> [RecordRow] {
        try alive()
        return try base.records(batch: batch)
    }
    func chip(serial: String) throws -> ChipRow? {
        try alive()
        return try base.chip(serial: serial)
    }
    func batches() throws -> [BatchRow] {
        try alive()
        return try base.batches()
    }
    func stations(batch: String?) throws -> [StationRow] {
        try alive()
        return try base.stations(batch: batch)
    }
    func issuedRecords(idNumbers: [String]) throws -> [RecordRow] {
        try alive()
        return try base.issuedRecords(idNumbers: idNumbers)
    }
    func refuse(batch: String, line: Int, reason: String) throws {
        try alive()
        try base.refuse(batch: batch, line: line, reason: reason)
    }
    func allowReissue(batch: String, line: Int, reason: String) throws {
        try alive()
        try base.allowReissue(batch: batch, line: line, reason: reason)
    }
    func citizen(idNumber: String) throws -> [CitizenRecordHistory] {
        try alive()
        return try base.citizen(idNumber: idNumber)
    }
    func register(station name: String, host: String, pid: Int, lease: TimeInterval) throws {
        try alive()
        try base.register(station: name, host: host, pid: pid, lease: lease)
    }
    func heartbeat(station name: String, host: String, pid: Int) throws {
        try alive()
        try base.heartbeat(station: name, host: host, pid: pid)
    }
    func unregister(station name: String, host: String, pid: Int) throws {
        try alive()
        try base.unregister(station: name, host: host, pid: pid)
    }
}

/// An emulated slot whose link dies at the `after`-th command (counting from the slot's first), killing the journal
/// with it: the process died there. `commands` records every command's header (CLA INS P1 P2) as sent.
final class CrashingSlot: CardSlot, @unchecked Sendable {
    let base: EmulatedSlot
    let after: Int?
    let kill: () -> Void
    private(set) var commands: [[UInt8]] = []

    init(_ base: EmulatedSlot, after: Int?, kill: @escaping () -> Void) {
        self.base = base
        self.after = after
        self.kill = kill
    }

    var name: String { base.name }
    func presentCard() -> (any CardTransport)? { base.presentCard().map { Link($0, slot: self) } }
    func awaitCard(stop: @escaping () -> Bool) throws -> (any CardTransport)? {
        try base.awaitCard(stop: stop).map { Link($0, slot: self) }
    }
    func reset(_ card: any CardTransport) throws { try base.reset((card as? Link)?.chip ?? card) }
    func release(_ card: any CardTransport, outcome: SlotOutcome, stop: @escaping () -> Bool) throws {
        try base.release((card as? Link)?.chip ?? card, outcome: outcome, stop: stop)
    }

    struct Died: Error {}

    final class Link: CardTransport {
        let chip: any CardTransport
        let slot: CrashingSlot
        init(_ chip: any CardTransport, slot: CrashingSlot) {
            self.chip = chip
            self.slot = slot
        }
        var capabilities: TransportCapabilities { chip.capabilities }
        func transmit(_ command: CommandAPDU) throws -> ResponseAPDU {
            slot.commands.append([command.cla, command.ins, command.p1, command.p2])
            if let after = slot.after, slot.commands.count >= after {
                slot.kill()
                throw Died()
            }
            return try chip.transmit(command)
        }
    }
}

@Suite("Keys made in the chip: a kill at every command of a card, then the restart")
struct ChipKeyCrashTests {
    @Test(
        "Killed at each phase of an on-chip-key card (identification, SCP03, before, at and after each GENERATE, files, just before and after the lock, the read-back; every 8th command between): the restart leaves the record issued exactly once and every chip issued (locked and genuine) or spoiled with the reason that it may hold keys it made but was never locked"
    )
    func killAtEachPhase() throws { try Self.kill(everyCommand: false) }

    @Test("Soak: the same, killed at every single command of the card")
    func soakKillAtEveryCommand() throws { try Self.kill(everyCommand: true) }

    static func kill(everyCommand: Bool) throws {
        #expect(CardProfile.vietnamese2021.keysMadeOnChip)
        // One clean card first: its commands, and where the keys are made and the lock is.
        let clean = try BatchFolder(count: 1, seed: 2727)
        defer { clean.remove() }
        let cleanJournal = try SQLiteJournal(path: clean.path + "/journal.db")
        try clean.begin(cleanJournal)
        let measuring = CrashingSlot(try clean.slots(1, journal: cleanJournal)[0], after: nil) {}
        _ = try PersoLine(job: clean.job(), journal: cleanJournal, slots: [measuring]).run()
        let commands = measuring.commands
        let generates = commands.indices.filter { commands[$0][1] == 0x46 }
        let lock = try #require(commands.firstIndex { $0[1] == 0xDA && $0[2] == 0xDE && $0[3] == 0xAD })
        #expect(generates.count == 2 && generates.allSatisfy { $0 < lock }, "\(generates) \(lock)")
        var spoiledWithKeys = 0
        var issuedOnRestart = 0
        // Every command up to the lock and two of the read-back after it (make test: each phase's edges and every
        // 8th command; make soak: all).
        var moments = Set(1...(lock + 3))
        if !everyCommand {
            let edges = [1, 2, 3, lock, lock + 1, lock + 2, lock + 3] + generates.flatMap { [$0, $0 + 1, $0 + 2] }
            moments = moments.filter { $0 % 8 == 0 || edges.contains($0) }
        }
        for k in moments.sorted() {
            let folder = try BatchFolder(count: 1, seed: 2727)
            defer { folder.remove() }
            let journal = try SQLiteJournal(path: folder.path + "/journal.db")
            try folder.begin(journal)
            let killable = KillSwitchJournal(journal)
            let slot = CrashingSlot(try folder.slots(1, journal: killable)[0], after: k) { killable.kill() }
            #expect(throws: (any Error).self, "kill at \(k)") {
                _ = try PersoLine(job: folder.job(), journal: killable, slots: [slot]).run()
            }
            // The restart: the slot's chip as its memory left it, the same journal.
            _ = try PersoLine(job: folder.job(), journal: journal, slots: try folder.slots(1, journal: journal)).run()
            let records = try journal.records(batch: "B1")
            #expect(records.count == 1 && records.allSatisfy { $0.status == .issued }, "kill at \(k): \(records)")
            #expect(try journal.issuedAttemptsPerRecord(batch: "B1").values.allSatisfy { $0 == 1 }, "kill at \(k)")
            #expect(try journal.openAttempts(batch: "B1").isEmpty, "kill at \(k)")
            for attempt in try journal.attempts(batch: "B1", phases: nil, station: nil) {
                switch attempt.phase {
                case .issued: if attempt.reason?.contains("recognised after a restart") == true { issuedOnRestart += 1 }
                case .spoiled:
                    #expect(attempt.reason == SpoilReason.interruptedWithChipKeys, "kill at \(k): \(attempt.reason ?? "")")
                    spoiledWithKeys += 1
                    // Spoiled only when the kill came after writing began and before the lock.
                    #expect(k > generates[0] - 3 && k <= lock + 1, "kill at \(k) spoiled a chip")
                case .interrupted: break  // claimed, never written: the chip stayed blank
                default: Issue.record("kill at \(k): an attempt left \(attempt.phase)")
                }
            }
        }
        #expect(spoiledWithKeys > 0 && issuedOnRestart > 0, "spoiled \(spoiledWithKeys), recognised \(issuedOnRestart)")
    }
}
