import CardCore
import CardCrypto
import CardEmulator
import ChipAccess
import ChipImage
import Foundation
import LDS
import Personalization
import Reader
import Relay
import RelayWire
import Verification

#if canImport(Glibc)
    import Glibc
#endif

// MARK: The bank relay

extension Bench {
    /// The Vietnamese read through the relay (`cccd relay`): the wall time of one session at 20, 80 and 200 ms round
    /// trips, ours against the peers' strategies on the same link; then many sessions at once against one
    /// `cccd relay serve` process (emulated chips in this process), with p50/p99 session time and the server's CPU
    /// per verified read next to the raw crypto of one read.
    mutating func relay() throws {
        let pki = try TestPKI()
        let image = try DataPreparation.prepare(
            SampleRecord.record, signer: pki.signer, validator: RecordValidator(today: CalendarDate(year: 2026, month: 11, day: 30)))
        let trust = TrustStore(anchors: [pki.csca])
        let secret = try SecureRandom.bytes(32)
        let tokens = try RelayTokenIssuer(secret: secret)
        let key = AccessKey.can(SampleCard.can)

        // 1. One session per strategy and round trip, in-process server (the wall time is the link's).
        let strategies: [Strategy] = [
            Strategy(name: "ours (SFI, one READ BINARY per file, extended length)", maxLe: 65536, selectAndHeader: false),
            Strategy(name: "160-byte reads (NFCPassportReader)", maxLe: 160),
            Strategy(name: "223-byte reads after a refused extended Le (JMRTD)", maxLe: 223, refusedFirst: 1),
            Strategy(name: "128-byte reads", maxLe: 128),
        ]
        let roundTrips = quick ? [0.08] : [0.02, 0.08, 0.2]
        for rtt in roundTrips {
            var ours: Double?
            for strategy in strategies {
                var configuration = RelayVerifier.Configuration(trust: trust)
                if strategy.selectAndHeader { configuration.imitatedReadLength = strategy.maxLe }
                let verifier = RelayVerifier(
                    configuration: configuration, tokens: tokens,
                    signer: try ReportSigner(key: try AsymmetricKey.generateEC(.secp256r1)))
                let extended = !strategy.selectAndHeader
                let sessions = try waitFor {
                    try await Self.withRelay(verifier) { url in
                        await RelayLoad.run(url: url, count: 1, tokens: tokens, key: key, link: .init(roundTrip: rtt)) {
                            try EmulatedChip(image: image, settings: EmulatorSettings(supportsExtendedLength: extended))
                        }
                    }
                }
                guard let session = sessions.first, session.genuine else {
                    throw BenchError("relay read (\(strategy.name)) not genuine: \(sessions.first?.problem ?? "none")")
                }
                // A refused extended Le costs its round trip on the phone link too.
                let wall = session.seconds + Double(strategy.refusedFirst) * rtt
                if ours == nil { ours = wall }
                add(
                    "Bank relay: one read over a phone link", "\(strategy.name), \(Int(rtt * 1000)) ms RTT: \(session.apdus + strategy.refusedFirst) APDUs",
                    wall * 1000, "ms", floor: Double(session.apdus + strategy.refusedFirst + 1) * rtt * 1000,
                    floorIs: "the round trips alone (APDUs + the hello) × RTT",
                    target: strategy.selectAndHeader ? "ours faster" : nil,
                    meets: strategy.selectAndHeader ? ours! <= wall : nil)
            }
        }

        // 2. Many sessions at once against one `cccd relay serve` process.
        let folder = NSTemporaryDirectory() + "cccd-bench-relay-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        try Data(pki.csca.pem.utf8).write(to: URL(fileURLWithPath: folder + "/csca.pem"))
        try Data(Hex.encode(secret).utf8).write(to: URL(fileURLWithPath: folder + "/secret"))
        try Data(try AsymmetricKey.generateEC(.secp256r1).privateKeyPEM().utf8).write(
            to: URL(fileURLWithPath: folder + "/report.key"))
        let server = try RelayServerProcess(folder: folder)
        defer { server.stop() }
        let raw = try RawCosts(quick: quick)
        for count in quick ? [50] : [50, 200, 400] {
            let cpuBefore = server.cpuSeconds()
            let started = Date()
            let url = server.url
            let sessions = try waitFor {
                await RelayLoad.run(url: url, count: count, tokens: tokens, key: key, link: .init(roundTrip: 0.08)) {
                    try EmulatedChip(image: image)
                }
            }
            let wall = Date().timeIntervalSince(started)
            let cpu = server.cpuSeconds() - cpuBefore
            let genuine = sessions.filter(\.genuine)
            guard genuine.count == count else {
                throw BenchError(
                    "\(count - genuine.count) of \(count) concurrent relay sessions not genuine: \(sessions.first { !$0.genuine }?.problem ?? "")")
            }
            let seconds = sessions.map(\.seconds)
            let apdus = genuine.first?.apdus ?? 16
            let floor = Double(apdus + 1) * 0.08 * 1000
            let section = "Bank relay: concurrent sessions, 80 ms RTT (server process + emulated chips on this machine)"
            add(section, "\(count) at once: p50 session", RelayLoad.percentile(seconds, 50) * 1000, "ms", floor: floor,
                floorIs: "the round trips alone")
            add(section, "\(count) at once: p99 session", RelayLoad.percentile(seconds, 99) * 1000, "ms", floor: floor,
                floorIs: "the round trips alone")
            add(section, "\(count) at once: verified reads per second", Double(count) / wall, "reads/s", floor: nil,
                floorIs: "none", better: "higher")
            var fileBytes = 0
            for file in [LDSFile.dataGroup(1), .dataGroup(2), .dataGroup(13), .dataGroup(14), .dataGroup(15), .sod] {
                fileBytes += image.content(of: file)?.count ?? 0
            }
            add(section, "\(count) at once: server CPU per verified read", cpu / Double(count) * 1000, "ms",
                floor: raw.readerFloor(fileBytes: fileBytes, wireBytes: fileBytes + apdus * 40) * 1000,
                floorIs: "the raw OpenSSL operations of one verified read (PACE, CA, AA, PA, SM)")
        }
    }

    /// Runs `body` with an in-process relay serving `verifier` on a free port.
    static func withRelay<T: Sendable>(
        _ verifier: RelayVerifier, _ body: @escaping @Sendable (String) async throws -> T
    ) async throws -> T {
        var options = RelayServer.Options(host: "127.0.0.1", port: 0)
        options.logLevel = .critical
        let server = RelayServer(verifier: verifier, options: options)
        let (ports, continuation) = AsyncStream<Int>.makeStream()
        let task = Task { try await server.application { continuation.yield($0) }.run() }
        defer { task.cancel() }
        var iterator = ports.makeAsyncIterator()
        guard let port = await iterator.next() else { throw BenchError("the relay did not start") }
        return try await body("ws://127.0.0.1:\(port)\(RelayProtocol.path)")
    }
}

/// `cccd relay serve` as a child process of the bench (this very binary), so that its CPU is its own.
final class RelayServerProcess {
    let process = Process()
    let url: String

    init(folder: String) throws {
        var me = URL(fileURLWithPath: CommandLine.arguments[0]).standardizedFileURL.path
        if let resolved = Bundle.main.executablePath { me = resolved }
        process.executableURL = URL(fileURLWithPath: me)
        process.arguments = [
            "relay", "serve", "--listen", "127.0.0.1:0", "--token-secret", folder + "/secret", "--report-key",
            folder + "/report.key", "--trust", folder + "/csca.pem", "--max-sessions", "2000", "--rate-per-minute", "10000",
            "--answer-timeout", "120", "--session-timeout", "600",
        ]
        let out = Pipe()
        process.standardOutput = out
        process.standardError = FileHandle.nullDevice
        try process.run()
        var line = Data()
        let deadline = Date().addingTimeInterval(30)
        while !line.contains(UInt8(ascii: "\n")) && Date() < deadline {
            let chunk = out.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            line.append(chunk)
        }
        let text = String(decoding: line, as: UTF8.self)
        guard let found = text.split(separator: " ").first(where: { $0.hasPrefix("ws://") }) else {
            process.terminate()
            throw BenchError("cccd relay serve did not start: \(text)")
        }
        url = String(found)
    }

    /// User + system CPU seconds of the server so far (/proc/PID/stat).
    func cpuSeconds() -> Double {
        guard let stat = try? String(contentsOfFile: "/proc/\(process.processIdentifier)/stat", encoding: .utf8),
            let close = stat.lastIndex(of: ")")
        else { return 0 }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        // After the command: state is field 3, utime 14 and stime 15 (1-based in proc(5)).
        guard fields.count > 13, let user = Double(fields[11]), let system = Double(fields[12]) else { return 0 }
        return (user + system) / Double(sysconf(Int32(_SC_CLK_TCK)))
    }

    func stop() {
        process.terminate()
        process.waitUntilExit()
    }
}
