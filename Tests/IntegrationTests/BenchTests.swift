import Foundation
import TestSupport
import Testing

@Suite("cccd bench: figures with their floors and ratios, as JSON")
struct BenchTests {
    @Test(
        "cccd bench --quick --json --only round-trips,peers: every figure has value, unit, floor and ratio; our read is at most one APDU over its computed minimum and below every peer strategy"
    )
    func roundTrips() throws {
        let r = try CommandLineRunner.run(["bench", "--quick", "--json", "--only", "round-trips,peers"])
        #expect(r.status == 0, "\(r.stderr)")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
        let figures = try #require(object["figures"] as? [[String: Any]])
        #expect(figures.count > 20)
        for f in figures {
            #expect(f["value"] is Double || f["value"] is Int, "\(f)")
            #expect(f["unit"] is String && f["floorIs"] is String && f["section"] is String)
            if let floor = f["floor"] as? Double, floor > 0, let value = f["value"] as? Double {
                let ratio = try #require(f["ratio"] as? Double)
                #expect(abs(ratio - value / floor) < 1e-9)
            }
        }
        func figure(_ name: String) -> [String: Any]? { figures.first { ($0["name"] as? String) == name } }
        let full = try #require(
            figure("Vietnamese full read (PACE-CAN, CA, AA, every file, PA), extended length: APDUs"))
        // At the minimum computed from the card: EF.SOD decides what is read, so EF.COM is not.
        #expect(full["value"] as? Double == 16 && full["floor"] as? Double == 16)
        for name in [
            "Vietnamese full read (PACE-CAN, CA, AA, every file, PA), short APDUs only: APDUs",
            "BAC read, extended length: APDUs", "BAC read, short APDUs only: APDUs",
        ] {
            let f = try #require(figure(name))
            #expect(f["value"] as? Double == f["floor"] as? Double, "\(name): \(f)")
        }
        let peers = figures.filter { $0["section"] as? String == "Peer strategies (same card)" && $0["meets"] != nil }
        #expect(!peers.isEmpty && peers.allSatisfy { $0["meets"] as? Bool == true })
    }

    @Test(
        "Soak: cccd bench --quick --only memory: open descriptors flat after the reads and after a perso soak (every card read back genuine)"
    )
    func soakMemory() throws {
        let r = try CommandLineRunner.run(["bench", "--quick", "--json", "--only", "memory"])
        #expect(r.status == 0, "\(r.stderr)")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
        let figures = try #require(object["figures"] as? [[String: Any]])
        let descriptors = figures.filter { ($0["name"] as? String)?.hasPrefix("open file descriptors") == true }
        #expect(descriptors.count == 2, "\(figures.map { $0["name"] ?? "" })")
        for f in descriptors {
            // No socket, file or pipe is left open by a read or a card: the count after equals the count before.
            #expect(f["meets"] as? Bool == true && f["value"] as? Double == f["floor"] as? Double, "\(f)")
        }
        #expect(figures.contains { ($0["name"] as? String)?.contains("perso soak of 60 cards") == true })
    }

    @Test(
        "cccd bench --quick --only journal: one citizen looked up by ID number on a 20,000-record journal, in-process and as the whole cccd journal --id command, each against the 50 ms target (a figure, not a timed test)"
    )
    func journalLookup() throws {
        let r = try CommandLineRunner.run(["bench", "--quick", "--json", "--only", "journal"])
        #expect(r.status == 0, "\(r.stderr)")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
        let figures = try #require(object["figures"] as? [[String: Any]])
        let names = figures.compactMap { $0["name"] as? String }
        #expect(names.contains { $0.hasPrefix("lookup in-process, median") }, "\(names)")
        let whole = try #require(figures.first { ($0["name"] as? String)?.hasPrefix("cccd journal --id") == true })
        #expect(whole["unit"] as? String == "ms" && (whole["value"] as? Double ?? 0) > 0 && whole["target"] as? String == "< 50 ms")
        // Its floor is the process alone, measured the same way.
        #expect((whole["floor"] as? Double ?? 0) > 0)
        #expect(figures.allSatisfy { ($0["section"] as? String)?.contains("20000 records") == true })
    }

    @Test("cccd bench rejects an unknown section")
    func unknownSection() throws {
        let r = try CommandLineRunner.run(["bench", "--only", "nonsense"])
        #expect(r.status != 0 && r.stderr.contains("no section nonsense"))
    }
}
