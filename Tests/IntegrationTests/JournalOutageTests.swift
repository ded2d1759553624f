import Foundation
import TestSupport
import Testing

/// `cccd perso` with its PostgreSQL journal behind a relay the test cuts mid-batch: the operator is told when the
/// database goes away and when it is back (on stderr, and as JSON events), and the batch ends issued exactly once.
@Suite("cccd perso tells its operator when the journal's database goes away and comes back")
struct JournalOutageTests {
    @Test("The database cut mid-batch until the operator is told: 'cannot be reached', then 'is back', every record issued once")
    func outageThroughTheCLI() throws {
        let direct = try #require(URLComponents(string: try TestPostgres.freshDatabase()))
        let proxy = try TCPProxy(to: direct.port ?? 5432)
        var relayed = direct
        relayed.port = proxy.port
        let journal = try #require(relayed.string)
        let work = try PersoCLITests.workspace(10, seed: 2611)
        defer { try? FileManager.default.removeItem(atPath: work) }
        let cccd = CommandLineRunner.root + "/.build/debug/cccd"
        let perso = try ChildProcess(
            "/bin/sh",
            [
                "-c", "cd \"$0\" && exec \"$1\" perso --batch batch.jsonl --signer pki --journal \"$2\" --emulated 1 --out out --json",
                work, cccd, journal,
            ], stdout: work + "/perso.out", stderr: work + "/perso.err")
        defer { perso.stop() }
        func text(_ name: String) -> String { (try? String(contentsOfFile: work + "/" + name, encoding: .utf8)) ?? "" }
        // Cut once the first card is issued: the line is running, with records still to claim.
        let deadline = Date().addingTimeInterval(120)
        while !text("perso.out").contains(#""event":"issued""#) && perso.running && Date() < deadline {
            Thread.sleep(forTimeInterval: 0.05)
        }
        try #require(perso.running, "cccd perso ended before the cut: \(text("perso.err"))")
        // Away until the operator has been told (a call waits for the database up to its 15 s timeout first), then
        // back.
        proxy.cut()
        let told = Date().addingTimeInterval(60)
        while !text("perso.err").contains("cannot be reached") && perso.running && Date() < told {
            Thread.sleep(forTimeInterval: 0.1)
        }
        #expect(perso.running, "cccd perso ended while its database was away: \(text("perso.err"))")
        Thread.sleep(forTimeInterval: 1)
        try proxy.restore()
        let status = perso.wait(timeout: 180)
        let stderr = text("perso.err")
        let events = text("perso.out").split(separator: "\n").compactMap {
            (try? JSONSerialization.jsonObject(with: Data($0.utf8))) as? [String: Any]
        }
        #expect(status == 0, "cccd perso exited \(String(describing: status)): \(stderr)")
        #expect(stderr.contains("warning: the journal cannot be reached"), "stderr: \(stderr)")
        #expect(stderr.contains("the journal is back after"), "stderr: \(stderr)")
        let kinds = events.compactMap { $0["event"] as? String }
        let down = try #require(kinds.firstIndex(of: "journalUnavailable"), "events: \(kinds)")
        let back = try #require(kinds.firstIndex(of: "journalBack"), "events: \(kinds)")
        #expect(down < back)
        #expect(kinds.filter { $0 == "issued" }.count == 10, "events: \(kinds)")
        // The journal, asked directly: ten records, each issued once.
        let records = try CommandLineRunner.run(
            ["journal", "--journal", try #require(direct.string), "--json"], in: work)
        #expect(records.status == 0, "\(records.stderr)")
        #expect(records.stdout.components(separatedBy: #""issued""#).count - 1 >= 10, "\(records.stdout)")
    }
}
