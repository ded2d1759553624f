import Foundation
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// The throwaway PostgreSQL cluster `scripts/with-postgres.sh` starts for the tests (`make test` runs them inside
/// it). Absent, these tests fail and say how to get one: they never pass without a database.
enum TestPostgres {
    static let environment = ProcessInfo.processInfo.environment
    static let missing =
        "PostgreSQL is not running for the tests: run them with `make test` (scripts/with-postgres.sh starts a throwaway cluster and sets CCCDKIT_POSTGRES_URL)"

    /// A new, empty database on the test cluster; its URL.
    static func freshDatabase() throws -> String {
        let url = try #require(environment["CCCDKIT_POSTGRES_URL"], Comment(rawValue: missing))
        let bin = try #require(environment["CCCDKIT_POSTGRES_BIN"], Comment(rawValue: missing))
        let name = "line_" + UUID().uuidString.prefix(8).lowercased()
        let components = try #require(URLComponents(string: url))
        let create = Process()
        create.executableURL = URL(fileURLWithPath: bin + "/createdb")
        create.arguments = [
            "-h", components.host ?? "127.0.0.1", "-p", "\(components.port ?? 5432)", "-U", components.user ?? "cccd",
            name,
        ]
        try create.run()
        create.waitUntilExit()
        try #require(create.terminationStatus == 0, "createdb \(name) failed")
        var out = components
        out.path = "/" + name
        return try #require(out.string)
    }

    /// `pg_ctl` on the test cluster, as the user that owns it.
    static func control(_ arguments: [String]) throws {
        let bin = try #require(environment["CCCDKIT_POSTGRES_BIN"], Comment(rawValue: missing))
        let data = try #require(environment["CCCDKIT_POSTGRES_DATA"], Comment(rawValue: missing))
        let runAs = environment["CCCDKIT_POSTGRES_RUNAS"] ?? ""
        // Through bash, which closes every inherited descriptor above 2 first: the server pg_ctl starts must not
        // keep the one Foundation watches to learn that its child ended (waitUntilExit would never return).
        // The server's own options (port, socket folder, loopback only) again on a start.
        var arguments = arguments
        if arguments.contains("start") {
            let options = try #require(environment["CCCDKIT_POSTGRES_OPTIONS"], Comment(rawValue: missing))
            arguments += ["-o", options] + (environment["CCCDKIT_POSTGRES_LOG"].map { ["-l", $0] } ?? [])
        }
        let command = (runAs.isEmpty ? [] : ["/usr/sbin/runuser", "-u", runAs, "--"]) + [bin + "/pg_ctl", "-D", data]
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/bash")
        p.arguments =
            [
                "-c",
                #"for fd in /proc/$$/fd/*; do n=${fd##*/}; if [ "$n" -gt 2 ]; then eval "exec $n>&-" 2>/dev/null; fi; done; exec "$@""#,
                "pg_ctl",
            ] + command + arguments
        p.standardInput = FileHandle.nullDevice
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        p.waitUntilExit()
        try #require(p.terminationStatus == 0, "pg_ctl \(arguments.joined(separator: " ")) failed")
    }
}

/// Several `cccd perso --station` processes on one batch and one journal, killed at random and restarted, the
/// database restarted under them: every record issued exactly once.
@Suite("A line of stations on one queue: exactly once through kills and a database restart")
struct MultiStationTests {
    struct Line {
        let work: String
        let journal: String
        let records: Int

        func cccd(_ arguments: [String]) throws -> CommandLineRunner.Outcome {
            try CommandLineRunner.run(arguments, in: work)
        }

        func station(_ name: String) -> Process {
            let p = Process()
            // Each run's stderr, appended to a file of the station's, to say why a run failed.
            let log = work + "/\(name).stderr"
            if !FileManager.default.fileExists(atPath: log) {
                FileManager.default.createFile(atPath: log, contents: nil)
            }
            p.executableURL = URL(fileURLWithPath: CommandLineRunner.root + "/.build/debug/cccd")
            p.arguments = [
                "perso", "--batch", "batch.jsonl", "--signer", "pki", "--journal", journal, "--station", name,
                "--emulated", "1", "--out", "out-\(name)", "--lease", "10", "--json",
            ]
            p.currentDirectoryURL = URL(fileURLWithPath: work)
            p.standardOutput = FileHandle.nullDevice
            if let handle = FileHandle(forWritingAtPath: log) {
                handle.seekToEndOfFile()
                p.standardError = handle
                // The events too (JSON Lines): a run that ends 1 without an error said why in its summary.
                p.standardOutput = handle
            } else {
                p.standardError = FileHandle.nullDevice
            }
            return p
        }

        func lastError(_ name: String) -> String {
            let text = (try? String(contentsOfFile: work + "/\(name).stderr", encoding: .utf8)) ?? ""
            let lines = text.split(separator: "\n")
            return lines.last {
                $0.contains("error") || $0.contains(#""event":"failed""#) || $0.contains("chip not found")
            }.map(String.init)
                ?? "no error said"
        }

        func json(_ arguments: [String]) throws -> [[String: Any]] {
            let run = try cccd(arguments)
            try #require(run.status == 0, "\(arguments): \(run.stderr)")
            return try #require(try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [[String: Any]])
        }
    }

    /// Runs `stations` stations over the batch, each killed `kills` times at random moments and restarted until it
    /// ends by itself; `midway` runs once, a few seconds in (the database restart). Returns the kills made.
    func run(_ line: Line, stations: Int, kills: Int, seed: UInt64, midway: (() throws -> Void)? = nil) throws -> Int {
        let load = try line.cccd([
            "perso", "--batch", "batch.jsonl", "--journal", line.journal, "--load-only", "--json",
        ])
        #expect(load.status == 0, "\(load.stderr)")
        let lock = NSLock()
        nonisolated(unsafe) var made = 0
        nonisolated(unsafe) var problems: [String] = []
        let group = DispatchGroup()
        for s in 0..<stations {
            group.enter()
            Thread {
                defer { group.leave() }
                var generator = SeededGenerator(seed: seed &+ UInt64(s) &* 7919)
                var left = kills
                for round in 0..<(kills + 6) {
                    let p = line.station("S\(s)")
                    do { try p.run() } catch {
                        lock.withLock { problems.append("S\(s) did not start: \(error)") }
                        return
                    }
                    if left > 0 {
                        Thread.sleep(forTimeInterval: Double.random(in: 0.5...4.0, using: &generator))
                        if p.isRunning {
                            kill(p.processIdentifier, SIGKILL)
                            left -= 1
                            lock.withLock { made += 1 }
                            p.waitUntilExit()
                            continue
                        }
                    }
                    p.waitUntilExit()
                    if p.terminationReason == .exit && p.terminationStatus == 0 && left == 0 { return }
                    if p.terminationStatus != 0 {
                        let why = line.lastError("S\(s)")
                        lock.withLock { problems.append("S\(s) round \(round) exited \(p.terminationStatus): \(why)") }
                    }
                    if left == 0 && round > kills + 3 { return }
                }
            }.start()
        }
        if let midway {
            Thread.sleep(forTimeInterval: 6)
            try midway()
        }
        group.wait()
        #expect(problems.isEmpty, "\(problems)")
        return made
    }

    /// What must hold at the end: every record issued by exactly one attempt, nothing held, every spoiled chip
    /// recorded with its reason and present among the stations' spoiled chips, one card per record on disk.
    func check(_ line: Line, stations: Int) throws {
        // One more pass of every station: nothing left to issue, nothing spoiled.
        for s in 0..<stations {
            let again = try line.cccd([
                "perso", "--batch", "batch.jsonl", "--signer", "pki", "--journal", line.journal, "--station", "S\(s)",
                "--emulated", "1", "--out", "out-S\(s)", "--json",
            ])
            #expect(again.status == 0, "S\(s): \(again.stderr)")
            #expect(again.json?["issuedThisRun"] as? Int == 0)
        }
        let records = try line.json(["journal", "--journal", line.journal, "--json"])
        #expect(records.count == line.records)
        #expect(
            records.allSatisfy { $0["status"] as? String == "issued" },
            "records not issued: \(records.filter { $0["status"] as? String != "issued" }.map { "line \($0["line"] ?? "?"): \($0["status"] ?? "?") \($0["reason"] ?? "")" })"
        )
        let serials = records.compactMap { $0["chipSerial"] as? String }
        #expect(Set(serials).count == line.records, "one chip per record")
        let attempts = try line.json(["journal", "--journal", line.journal, "--json", "--view", "attempts"])
        var issuedPerLine: [Int: Int] = [:]
        for a in attempts where a["phase"] as? String == "issued" {
            issuedPerLine[a["line"] as? Int ?? -1, default: 0] += 1
        }
        #expect(issuedPerLine.count == line.records && issuedPerLine.values.allSatisfy { $0 == 1 }, "exactly once")
        #expect(
            !attempts.contains { ["claimed", "writing", "locked"].contains($0["phase"] as? String ?? "") },
            "an attempt is still open")
        // Every spoiled chip: recorded with a reason, and physically among the stations' spoiled chips.
        let fm = FileManager.default
        var spoiledOnDisk: Set<String> = []
        var cards: [String] = []
        for s in 0..<stations {
            let folder = line.work + "/out-S\(s)"
            for f in (try? fm.contentsOfDirectory(atPath: folder + "/spoiled")) ?? [] {
                spoiledOnDisk.insert(String(f.dropLast(5)))
            }
            let files = (try? fm.contentsOfDirectory(atPath: folder + "/cards")) ?? []
            #expect(!files.contains { $0.hasSuffix(".tmp") }, "a half-written card file left after the last run")
            cards += files.filter { $0.hasSuffix(".json") }
        }
        for a in attempts where a["phase"] as? String == "spoiled" {
            #expect(!(a["reason"] as? String ?? "").isEmpty, "a spoiled card without its reason")
            #expect(spoiledOnDisk.contains(a["chipSerial"] as? String ?? ""), "spoiled chip \(a) not found")
        }
        // One card per record across the stations (a card file per issued chip).
        let ids = Set(records.compactMap { $0["idNumber"] as? String })
        #expect(Set(cards.map { String($0.prefix(12)) }) == ids)
        #expect(Set(cards.map { String($0.dropFirst(13).dropLast(5)) }) == Set(serials))
    }

    /// Three stations on one PostgreSQL queue, each killed `kills` times at random and restarted; a few seconds in,
    /// the database goes away for 2 s: the server itself restarted (`restartServer`), or every connection to it cut
    /// by a relay (the other tests that share the cluster in `make test` keep their database).
    func postgresLine(records: Int, kills: Int, seed: UInt64, atLeast: Int, restartServer: Bool) throws {
        let work = try PersoCLITests.workspace(records, seed: seed)
        defer { try? FileManager.default.removeItem(atPath: work) }
        var url = try #require(URLComponents(string: try TestPostgres.freshDatabase()))
        let relay = restartServer ? nil : try TCPProxy(to: url.port ?? 5432)
        if let relay { url.port = relay.port }
        let line = Line(work: work, journal: try #require(url.string), records: records)
        let made = try run(line, stations: 3, kills: kills, seed: UInt64(records)) {
            if let relay {
                relay.cut()
                Thread.sleep(forTimeInterval: 2)
                try relay.restore()
            } else {
                try TestPostgres.control(["-m", "fast", "-w", "stop"])
                Thread.sleep(forTimeInterval: 2)
                try TestPostgres.control(["-w", "-t", "30", "start"])
            }
        }
        #expect(made >= atLeast, "the batch ended before the stations could be killed: make it longer")
        try check(line, stations: 3)
        // The journal's view of the stations: each issued some, with its throughput.
        let stations = try line.json(["journal", "--journal", line.journal, "--json", "--view", "stations"])
        #expect(Set(stations.compactMap { $0["station"] as? String }) == ["S0", "S1", "S2"])
        #expect(stations.allSatisfy { ($0["issued"] as? Int ?? 0) > 0 && $0["cardsPerMinute"] is Double })
    }

    @Test(
        "Three stations on one PostgreSQL queue, 90 records: each station killed with SIGKILL at random moments and restarted, every connection to PostgreSQL cut for 2 s mid-batch; 90 issued, each exactly once, every spoiled card recorded"
    )
    func postgresLineSmall() throws {
        try postgresLine(records: 90, kills: 2, seed: 59, atLeast: 3, restartServer: false)
    }

    /// `make soak`: the same at 600 records, five kills per station.
    @Test(
        "Three stations on one PostgreSQL queue, 600 records: each station killed with SIGKILL at random moments and restarted, PostgreSQL restarted mid-batch; 600 issued, each exactly once, every spoiled card recorded"
    )
    func soakPostgresLine() throws {
        try postgresLine(records: 600, kills: 5, seed: 60, atLeast: 10, restartServer: true)
    }

    @Test(
        "Two stations sharing one SQLite journal on one machine, killed at random and restarted: every record issued exactly once"
    )
    func sqliteLine() throws {
        let work = try PersoCLITests.workspace(200, seed: 61)
        defer { try? FileManager.default.removeItem(atPath: work) }
        let line = Line(work: work, journal: "shared.db", records: 200)
        let kills = try run(line, stations: 2, kills: 2, seed: 200)
        #expect(kills >= 3, "the batch ended before the stations could be killed: make it longer")
        try check(line, stations: 2)
    }

    @Test(
        "A second process under a running station's name is refused; a station joining an unloaded batch is told to load it"
    )
    func stationNames() throws {
        let work = try PersoCLITests.workspace(30, seed: 62)
        defer { try? FileManager.default.removeItem(atPath: work) }
        let line = Line(work: work, journal: try TestPostgres.freshDatabase(), records: 30)
        let unloaded = try line.cccd([
            "perso", "--batch", "batch.jsonl", "--signer", "pki", "--journal", line.journal, "--station", "A",
            "--emulated", "1", "--out", "out-A",
        ])
        #expect(unloaded.status == 1 && unloaded.stderr.contains("--load-only"), "\(unloaded.stderr)")
        _ = try line.cccd(["perso", "--batch", "batch.jsonl", "--journal", line.journal, "--load-only"])
        let first = line.station("A")
        try first.run()
        Thread.sleep(forTimeInterval: 1.5)
        let second = try line.cccd([
            "perso", "--batch", "batch.jsonl", "--signer", "pki", "--journal", line.journal, "--station", "A",
            "--emulated", "1", "--out", "out-A2",
        ])
        first.waitUntilExit()
        #expect(second.status == 1 && second.stderr.contains("station A is running"), "\(second.stderr)")
        #expect(first.terminationStatus == 0)
    }
}
