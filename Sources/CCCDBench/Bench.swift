import CardCore
import CardCrypto
import CardEmulator
import ChipAccess
import ChipImage
import Foundation
import Issuance
import IssuanceSlots
import LDS
import Personalization
import Reader
import Verification

#if canImport(Glibc)
    import Glibc
#endif

/// One figure of `cccd bench`: its value next to its floor (what the protocol, the card or raw OpenSSL allows),
/// and the ratio value / floor.
public struct BenchFigure: Encodable, Sendable {
    public var section: String
    public var name: String
    public var value: Double
    public var unit: String
    public var floor: Double?
    /// value / floor.
    public var ratio: Double?
    /// What the floor is.
    public var floorIs: String
    /// "lower" (APDUs, bytes, time, memory) or "higher" (throughput) is better.
    public var better: String
    /// The target from the benchmark issue, and whether this run meets it (nil: no target).
    public var target: String?
    public var meets: Bool?
}

/// `cccd bench`'s measurements, section by section (the CLI only parses its options and prints).
public struct Bench {
    let quick: Bool
    let log: Bool
    public var figures: [BenchFigure] = []
    /// RSS when the benchmark started (KB).
    nonisolated(unsafe) static var startRSS = 0.0
    public static let sections = [
        "round-trips", "peers", "secure-messaging", "cpu", "preparation", "perso", "perso-host", "memory", "journal",
        "relay",
    ]
    public var sectionsToRun = Set(Bench.sections)
    /// Data preparation cards/s on one core with the brainpoolP256r1 signer (the line's floor).
    var preparationRate: Double?

    public init(quick: Bool, log: Bool) {
        self.quick = quick
        self.log = log
    }

    public static func machine() -> [String: String] {
        var out: [String: String] = ["cores": "\(ProcessInfo.processInfo.activeProcessorCount)"]
        if let cpu = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
            let line = cpu.split(separator: "\n").first(where: { $0.hasPrefix("model name") })
        {
            out["cpu"] = line.split(separator: ":").last.map { $0.trimmingCharacters(in: .whitespaces) }
        }
        #if DEBUG
            out["build"] = "debug (figures are not representative: use swift build -c release)"
        #else
            out["build"] = "release"
        #endif
        out["date"] = ISO8601DateFormatter().string(from: Date())
        return out
    }

    mutating func add(
        _ section: String, _ name: String, _ value: Double, _ unit: String, floor: Double?, floorIs: String,
        better: String = "lower", target: String? = nil, meets: Bool? = nil
    ) {
        let ratio = floor.flatMap { $0 > 0 ? value / $0 : nil }
        figures.append(
            BenchFigure(
                section: section, name: name, value: value, unit: unit, floor: floor, ratio: ratio, floorIs: floorIs,
                better: better, target: target, meets: meets))
    }

    func say(_ text: String) {
        if log { FileHandle.standardError.write(Data("… \(text)\n".utf8)) }
    }

    public mutating func all() throws {
        Self.startRSS = Self.residentKB("VmRSS")
        func on(_ s: String) -> Bool { sectionsToRun.contains(s) }
        if on("round-trips") {
            say("round trips")
            try roundTrips()
        }
        if on("peers") {
            say("peer strategies")
            try peers()
        }
        if on("secure-messaging") {
            say("secure messaging")
            try secureMessaging()
        }
        if on("cpu") {
            say("host CPU per verified read")
            try hostCPU()
        }
        if on("preparation") {
            say("data preparation")
            try dataPreparation()
        }
        if on("perso") {
            say("personalization end to end")
            try personalization()
        }
        if on("perso-host") {
            say("host time per card, both command sets")
            try hostTimePerCard()
        }
        if on("memory") {
            say("memory")
            try memory()
        }
        if on("journal") {
            say("journal lookups")
            try journalLookups()
        }
        if on("relay") {
            say("bank relay")
            try relay()
        }
    }

    /// A journal of `records` records in 100 batches, a tenth of each issued through the journal's own calls
    /// (claims, attempts, chips); closed when done.
    func buildJournal(_ path: String, records: Int) throws {
        let journal = try SQLiteJournal(path: path)
        let batches = 100
        let perBatch = records / batches
        func id(_ n: Int) -> String { String(format: "0010%08d", n) }
        let loading = Date()
        for b in 0..<batches {
            let batch = String(format: "BENCH%011d", b)
            try journal.begin(
                batch: BatchRow(
                    id: batch, source: "bench-\(b).jsonl", profile: "vn-cccd-2021", createdAt: Date(),
                    recordCount: perBatch),
                records: (0..<perBatch).map { (line: $0 + 1, idNumber: id(b * perBatch + $0), hash: "0", rejection: nil) }
            )
            // A tenth of each batch issued, through the journal's own calls (claims, attempts, chips).
            for i in 0..<max(1, perBatch / 10) {
                guard
                    let claim = try journal.claim(
                        batch: batch, chipSerial: String(format: "%020X", b * perBatch + i), station: "bench",
                        reader: "r")
                else { break }
                try journal.advance(attempt: claim.attempt, to: .writing)
                try journal.finish(attempt: claim.attempt, .issued, reason: nil)
            }
        }
        say("journal of \(records) records built in \(String(format: "%.0f", Date().timeIntervalSince(loading))) s")
    }

    /// "Where is this citizen's card?" on a large SQLite journal: 1,000,000 records (20,000 with --quick) in 100
    /// batches, a tenth of them issued, then one citizen's history looked up by ID number, in-process and as the
    /// whole `cccd journal --id` command (process start included).
    mutating func journalLookups() throws {
        let records = quick ? 20_000 : 1_000_000
        let folder = NSTemporaryDirectory() + "cccd-bench-journal-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let keep = ProcessInfo.processInfo.environment["CCCD_BENCH_KEEP_JOURNAL"] != nil
        defer { if !keep { try? FileManager.default.removeItem(atPath: folder) } }
        let path = folder + "/journal.db"
        if keep { say("the journal stays at \(path)") }
        try buildJournal(path, records: records)
        func id(_ n: Int) -> String { String(format: "0010%08d", n) }
        let lookups = 200
        var times: [Double] = []
        do {
            // A journal at rest (the builder closed it, its log checkpointed), opened as `cccd journal` opens it,
            // and closed again before the commands run.
            let journal = try SQLiteJournal(path: path)
            var generator = SystemRandomNumberGenerator()
            for _ in 0..<lookups {
                let n = Int.random(in: 0..<records, using: &generator)
                let start = DispatchTime.now().uptimeNanoseconds
                let history = try journal.citizen(idNumber: id(n))
                times.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6)
                guard history.count == 1 else { throw BenchError("citizen \(id(n)): \(history.count) records") }
            }
        }
        times.sort()
        let section = "Journal: one citizen's card (cccd journal --id) on \(records) records"
        add(
            section, "lookup in-process, median of \(lookups) random ID numbers", times[lookups / 2], "ms", floor: nil,
            floorIs: "target 50 ms for the whole command", target: "< 50 ms", meets: times[lookups / 2] < 50)
        add(section, "lookup in-process, 99th percentile", times[lookups * 99 / 100], "ms", floor: nil, floorIs: "–")
        // The whole command, as a hotline clerk runs it.
        let binary = URL(fileURLWithPath: CommandLine.arguments[0]).path
        if FileManager.default.isExecutableFile(atPath: binary) {
            // Spawned as a shell would (posix_spawn, output to /dev/null): Foundation's Process adds its own
            // milliseconds, which are not the command's.
            func median(_ arguments: [String]) throws -> Double {
                var times: [Double] = []
                for _ in 0..<9 {
                    let start = DispatchTime.now().uptimeNanoseconds
                    let status = try Self.spawn(binary, arguments)
                    times.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6)
                    guard status == 0 else { throw BenchError("cccd \(arguments[0]) exited \(status)") }
                }
                return times.sorted()[4]
            }
            let bare = try median(["--version"])
            let whole = try median(["journal", "--journal", path, "--id", id(records / 3), "--json"])
            add(
                section, "cccd journal --id NUMBER --json, whole command (process start included), median of 9", whole,
                "ms", floor: bare, floorIs: "cccd --version (the process alone)", target: "< 50 ms", meets: whole < 50)
        }
    }

    public func printTable() {
        var section = ""
        for f in figures {
            if f.section != section {
                section = f.section
                print("\n\(section)")
                print(
                    "  " + "figure".padding(76) + "value".leftPadded(14) + "  " + "unit".padding(10)
                        + "floor".leftPadded(12) + "ratio".leftPadded(8) + "  target")
            }
            let ratio = f.ratio.map { String(format: "%.2f", $0) } ?? "–"
            let floor = f.floor.map { Self.number($0) } ?? "–"
            let target = f.target.map { "\($0) \(f.meets == true ? "✓" : f.meets == false ? "✗" : "")" } ?? ""
            print(
                "  " + f.name.padding(76) + Self.number(f.value).leftPadded(14) + "  " + f.unit.padding(10)
                    + floor.leftPadded(12) + ratio.leftPadded(8) + "  " + target)
        }
        print(
            "\nfloors: " + Set(figures.map { "\($0.section): \($0.floorIs)" }).sorted().joined(separator: "\n        "))
    }

    static func number(_ v: Double) -> String {
        v == v.rounded() && abs(v) < 1e9 ? String(Int(v)) : String(format: abs(v) >= 100 ? "%.1f" : "%.3f", v)
    }

    // MARK: Timing

    /// Seconds per call of `body`, the median of `rounds` rounds of `count` calls.
    static func seconds(rounds: Int = 5, count: Int, _ body: () throws -> Void) rethrows -> Double {
        try body()
        var samples: [Double] = []
        for _ in 0..<rounds {
            let start = DispatchTime.now().uptimeNanoseconds
            for _ in 0..<count { try body() }
            samples.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9 / Double(count))
        }
        samples.sort()
        return samples[samples.count / 2]
    }

    // MARK: Round trips

    /// The fewest APDUs a read of `result`'s files needs on this chip: EF.CardAccess (1, to learn what the chip
    /// offers), PACE (MSE:Set AT + 4 General Authenticate) or BAC (SELECT, GET CHALLENGE, EXTERNAL AUTHENTICATE),
    /// SELECT of the application after PACE, Chip Authentication (MSE:Set AT + General Authenticate for AES, MSE:Set
    /// KAT for 3DES; none after PACE-CAM, none when the proof is the next protected answer), Active Authentication
    /// (1), and every file EF.SOD makes necessary (EF.SOD and the data groups read; EF.COM is not necessary) in as few
    /// READ BINARY as the largest protected answer allows.
    static func minimumAPDUs(_ result: ReadResult, extended: Bool, cipher: SecureMessagingCipher, caAPDUs: Int)
        -> Int
    {
        var n = 1  // EF.CardAccess
        n += result.accessControl == "BAC" ? 3 : 6  // BAC: SELECT + GET CHALLENGE + EXT AUTH; PACE: 5 + SELECT
        n += caAPDUs
        if result.checks.activeAuthentication.status != .notChecked { n += 1 }
        let block = cipher == .aes128 ? 16 : 8
        let chunk =
            extended
            ? SecureMessagingCodec.maxPlaintextLength(responseLength: 65536, blockSize: block)
            : SecureMessagingCodec.maxPlaintextLength(responseLength: 256, blockSize: block)
        for (file, bytes) in result.files where file != .com && file != .cardAccess {
            n += max(1, (bytes.count + chunk - 1) / chunk)
        }
        return n
    }

    /// The file content that must cross the link (the floor of bytes: every protocol byte is overhead on it).
    static func payload(_ result: ReadResult) -> Int {
        result.files.filter { $0.key != .com }.values.reduce(0) { $0 + $1.count }
    }

    /// The sample record prepared as the line prepares it, signed by a TEST PKI, on the Vietnamese profile and on
    /// ICAO's BAC-only TD1 profile: cards whose EF.SOD lists their data groups (so EF.COM is not needed).
    static func signedSamples() throws -> (vietnamese: CardImage, bac: CardImage) {
        let pki = try TestPKI()
        let validator = RecordValidator(today: CalendarDate(year: 2026, month: 11, day: 30))
        let vietnamese = try DataPreparation.prepare(SampleRecord.record, signer: pki.signer, validator: validator)
        let bac = try DataPreparation.prepare(
            SampleRecord.record, profile: try CardProfile(nameOrPath: "icao-td1-bac"), signer: pki.signer,
            validator: validator)
        return (vietnamese, bac)
    }

    mutating func roundTrips() throws {
        let (vietnamese, bac) = try Self.signedSamples()
        for extended in [true, false] {
            let suffix = extended ? "extended length" : "short APDUs only"
            let settings = EmulatorSettings(supportsExtendedLength: extended)
            for (label, groups) in [
                ("full read (PACE-CAN, CA, AA, every file, PA)", nil),
                ("check-in read (--fields basic)", Set([1, 13])),
            ] {
                let session = ReaderSession(transport: try EmulatedChip(image: vietnamese, settings: settings))
                let result = try session.readCard(.can(SampleCard.can), options: ReadOptions(dataGroups: groups))
                // CA of this card: ICAO style (AES, proof by the next protected answer): MSE:Set AT + GA.
                let floor = Self.minimumAPDUs(result, extended: extended, cipher: .aes128, caAPDUs: 2)
                add(
                    "Round trips", "Vietnamese \(label), \(suffix): APDUs", Double(result.apduCount), "APDUs",
                    floor: Double(floor), floorIs: "the protocol minimum for this card's files and capabilities",
                    target: "= floor", meets: result.apduCount <= floor)
                add(
                    "Round trips", "Vietnamese \(label), \(suffix): bytes",
                    Double(result.bytesSent + result.bytesReceived),
                    "bytes", floor: Double(Self.payload(result)), floorIs: "the file content itself")
            }
            let session = ReaderSession(transport: try EmulatedChip(image: bac, settings: settings))
            guard let bacKey = bac.secrets.bacKey else { throw BenchError("the BAC sample has no MRZ key") }
            let result = try session.readCard(.mrz(bacKey))
            let floor = Self.minimumAPDUs(result, extended: extended, cipher: .tripleDES, caAPDUs: 0)
            add(
                "Round trips", "BAC read, \(suffix): APDUs", Double(result.apduCount), "APDUs", floor: Double(floor),
                floorIs: "the protocol minimum for this card's files and capabilities", target: "= floor",
                meets: result.apduCount <= floor)
            add(
                "Round trips", "BAC read, \(suffix): bytes", Double(result.bytesSent + result.bytesReceived), "bytes",
                floor: Double(Self.payload(result)), floorIs: "the file content itself")
            try perso(extended: extended)
        }
    }

    mutating func perso(extended: Bool) throws {
        let master = [UInt8](repeating: 0x42, count: 16)
        let pki = try TestPKI()
        let image = try DataPreparation.prepare(
            SampleRecord.record, signer: pki.signer,
            validator: RecordValidator(today: CalendarDate(year: 2026, month: 11, day: 30)))
        let chip = try EmulatedChip(
            blank: try BlankChip(serial: BlankChip.serial(batch: 9, index: 1), master: master, commandSet: .secure),
            settings: EmulatorSettings(supportsExtendedLength: extended))
        let script = try PersoScript.compile(image, commandSet: .secure, extendedLength: extended)
        let meter = MeteredTransport(chip)
        _ = try PersoWriter(transportKeys: SoftwareTransportKeys(master: master)).write(script, to: meter)
        // The floor: SELECT, GET DATA (the serial), INITIALIZE UPDATE, EXTERNAL AUTHENTICATE; per file one CREATE FILE
        // and its content in as few UPDATE BINARY as the largest SCP03 command allows (C-MAC 8 bytes, C-DECRYPTION
        // padding to 16); one PUT DATA per secret; the lock.
        let lc = extended ? 65535 : 255
        let chunk = (lc - 8) / 16 * 16 - 1
        var floor = 4
        for step in script.steps {
            switch step.kind {
            case .createFile(_, let size): floor += 1 + max(1, (size + chunk - 1) / chunk)
            case .putSecret, .lock: floor += 1
            case .selectFile, .write: break
            }
        }
        let suffix = extended ? "extended length" : "short APDUs only"
        add(
            "Round trips", "perso (secure: SCP03), \(suffix): APDUs", Double(meter.apduCount), "APDUs",
            floor: Double(floor), floorIs: "the protocol minimum for this card's files and capabilities",
            target: "= floor", meets: meter.apduCount <= floor)
    }

    // MARK: Peers

    /// A read strategy of a well-known reader, driven on the same card: the largest Le it asks for, and whether
    /// it selects each file and reads its header first.
    struct Strategy {
        var name: String
        var maxLe: Int
        var refusedFirst: Int = 0
        var selectAndHeader: Bool = true
    }

    mutating func peers() throws {
        let image = try Self.signedSamples().vietnamese
        // The link model (stated, not measured): ISO 14443 frames of 9 bits per byte (8 + parity) with 3 bytes of
        // framing (PCB, CRC), a 3 ms turnaround per APDU (reader, driver, chip's frame waiting), and the chip's
        // secure-messaging crypto at 1 ms per protected APDU. PACE, CA and AA crypto in the chip take the same time
        // for every strategy and are left out.
        let turnaround = 0.003
        let chipCrypto = 0.001
        func modelled(_ apdus: Int, _ bytes: Int, rate: Double) -> Double {
            Double(apdus) * (turnaround + chipCrypto + 2 * 3 * 9 / rate) + Double(bytes) * 9 / rate
        }
        var strategies = [
            Strategy(
                name: "ours (SFI, one READ BINARY per file, extended length)", maxLe: 65536, selectAndHeader: false)
        ]
        strategies += [
            Strategy(name: "160-byte reads (NFCPassportReader)", maxLe: 160),
            Strategy(name: "223-byte reads after a refused extended Le (JMRTD)", maxLe: 223, refusedFirst: 1),
            Strategy(name: "256, then 192 after a refusal", maxLe: 192, refusedFirst: 1),
            Strategy(name: "128-byte reads", maxLe: 128),
            Strategy(name: "112-byte reads", maxLe: 112),
        ]
        var ours: (apdus: Int, bytes: Int)? = nil
        for strategy in strategies {
            let extended = strategy.maxLe > 256
            let session = ReaderSession(
                transport: try EmulatedChip(image: image, settings: EmulatorSettings(supportsExtendedLength: extended)))
            if strategy.selectAndHeader { session.imitate(maxReadLength: strategy.maxLe) }
            // The peers read EF.COM first (JMRTD, NFCPassportReader); ours lets EF.SOD decide.
            var options = ReadOptions()
            options.readsEFCOM = strategy.selectAndHeader
            let result = try session.readCard(.can(SampleCard.can), options: options)
            let apdus = result.apduCount + strategy.refusedFirst
            let bytes = result.bytesSent + result.bytesReceived
            if ours == nil { ours = (apdus, bytes) }
            add(
                "Peer strategies (same card)", "\(strategy.name): APDUs", Double(apdus), "APDUs",
                floor: Double(ours!.apdus), floorIs: "our read of the same card", target: "ours ≤ every peer",
                meets: strategy.refusedFirst == 0 && !strategy.selectAndHeader ? nil : ours!.apdus <= apdus)
            for rate in [106_000.0, 424_000.0, 848_000.0] {
                let time = modelled(apdus, bytes, rate: rate)
                let oursTime = modelled(ours!.apdus, ours!.bytes, rate: rate)
                add(
                    "Peer strategies (same card)", "\(strategy.name): modelled at \(Int(rate / 1000)) kbit/s",
                    time * 1000,
                    "ms", floor: oursTime * 1000,
                    floorIs: "our read, same model (3 ms turnaround, 1 ms chip SM per APDU, 9 bits/byte)",
                    target: "ours faster", meets: strategy.selectAndHeader ? oursTime <= time : nil)
            }
        }
    }

    // MARK: Secure messaging

    mutating func secureMessaging() throws {
        let size = 1024
        let payload = [UInt8](repeating: 0x5A, count: size)
        let count = quick ? 200 : 2000
        for cipher in [SecureMessagingCipher.aes128, .tripleDES] {
            let keyLength = 16
            let enc = [UInt8](repeating: 0x11, count: keyLength)
            let mac = [UInt8](repeating: 0x22, count: keyLength)
            let keys = try SecureMessagingKeys(cipher: cipher, encryptionKey: enc, macKey: mac)
            let block = cipher == .aes128 ? 16 : 8
            let terminal = SecureMessaging(keys: keys, ssc: [UInt8](repeating: 0, count: block))
            let chip = SecureMessaging(keys: keys, ssc: [UInt8](repeating: 0, count: block))
            // One protected READ BINARY of 1 KB, both ends: command protect/unprotect, response protect/unprotect.
            let ours = try Self.seconds(count: count) {
                let c = try terminal.protect(CommandAPDU(ins: 0xB0, p1: 0, p2: 0, ne: 65536))
                _ = try chip.unprotectCommand(c)
                let r = try chip.protectResponse(ResponseAPDU(data: payload, statusWord: .success), ins: 0xB0)
                _ = try terminal.unprotect(r)
            }
            // Raw OpenSSL at the same size: CBC encrypt + MAC, MAC + CBC decrypt of the 1 KB answer.
            let algorithm: CipherAlgorithm = cipher == .aes128 ? CipherAlgorithm.aes128 : .tripleDES2Key
            let cbc = try BlockCipher(algorithm, mode: .cbc, key: enc)
            let padded = payload + [0x80] + [UInt8](repeating: 0, count: block - 1)
            let iv = [UInt8](repeating: 0, count: block)
            let raw: Double
            if cipher == .aes128 {
                let cmac = try CMAC(key: mac)
                raw = try Self.seconds(count: count) {
                    let e = try cbc.encrypt(padded, iv: iv)
                    _ = cmac.authenticate(e)
                    _ = cmac.authenticate(e)
                    _ = try cbc.decrypt(e, iv: iv)
                }
            } else {
                let retail = try RetailMAC(key: mac)
                raw = try Self.seconds(count: count) {
                    let e = try cbc.encrypt(padded, iv: iv)
                    _ = try retail.mac(e)
                    _ = try retail.mac(e)
                    _ = try cbc.decrypt(e, iv: iv)
                }
            }
            let mbps = Double(size) / ours / 1e6
            let rawMBps = Double(size) / raw / 1e6
            add(
                "Secure messaging", "\(cipher.rawValue) wrap+unwrap of a 1 KB answer", mbps, "MB/s", floor: rawMBps,
                floorIs: "raw OpenSSL CBC + MAC both ways at the same size", better: "higher", target: "≥ 0.80 of raw",
                meets: mbps / rawMBps >= 0.8)
        }
    }

    // MARK: Host CPU

    /// Times the chip's part of a read (everything inside its transmit).
    final class TimedTransport: CardTransport {
        let base: any CardTransport
        var nanoseconds: UInt64 = 0
        init(_ base: any CardTransport) { self.base = base }
        var capabilities: TransportCapabilities { base.capabilities }
        func transmit(_ command: CommandAPDU) throws -> ResponseAPDU {
            let start = DispatchTime.now().uptimeNanoseconds
            defer { nanoseconds += DispatchTime.now().uptimeNanoseconds - start }
            return try base.transmit(command)
        }
    }

    mutating func hostCPU() throws {
        let image = try SampleCard.image()
        let count = quick ? 5 : 30
        var total: [Double] = []
        var chipShare: [Double] = []
        var bytes = 0
        var fileBytes = 0
        for i in 0...count {
            let chip = TimedTransport(try EmulatedChip(image: image))
            let start = DispatchTime.now().uptimeNanoseconds
            let result = try ReaderSession(transport: chip).readCard(.can(SampleCard.can))
            let elapsed = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
            if i == 0 { continue }  // warm-up
            total.append(elapsed)
            chipShare.append(Double(chip.nanoseconds) / 1e9)
            bytes = result.bytesSent + result.bytesReceived
            fileBytes = result.files.values.reduce(0) { $0 + $1.count }
        }
        total.sort()
        chipShare.sort()
        let chipTime = chipShare[chipShare.count / 2]
        let readerTime = total[total.count / 2] - chipTime
        // The floor: the same OpenSSL operations, raw. Reader: 7 scalar multiplications on brainpoolP256r1 (PACE GM:
        // mapping key pair, mapping secret, mapped generator, key-agreement key pair, shared secret; CA: key pair,
        // shared secret), 2 ECDSA verifications (EF.SOD, the DS certificate), 1 RSA-2048 public operation (AA),
        // SHA-256 over every file, AES-CBC + CMAC over every byte on the wire. Chip: 6 scalar multiplications (PACE 5,
        // CA 1), 1 RSA-2048 private operation (AA), the same secure messaging.
        let raw = try RawCosts(quick: quick)
        let readerFloor = raw.readerFloor(fileBytes: fileBytes, wireBytes: bytes)
        let chipFloor = 6 * raw.mult + raw.rsaPrivate + raw.smPerByte * Double(bytes)
        add(
            "Host CPU per verified full read", "reader side", readerTime * 1000, "ms", floor: readerFloor * 1000,
            floorIs: "the same OpenSSL operations, raw, in this run", target: "≤ 1.5× floor",
            meets: readerTime <= 1.5 * readerFloor)
        add(
            "Host CPU per verified full read", "chip side (the emulator)", chipTime * 1000, "ms",
            floor: chipFloor * 1000, floorIs: "the same OpenSSL operations, raw, in this run")
        if let instructions = try? Self.instructionsPerRead(quick: quick) {
            add(
                "Host CPU per verified full read", "instructions per read (callgrind, reader and chip)", instructions,
                "instr", floor: nil, floorIs: "none: for judging a change on a noisy machine")
        }
    }

    /// Instructions of one read, counted by callgrind inside `ReaderSession.readCard` (1 read and 3 reads, the
    /// difference halved: the first read's one-time costs drop out), when valgrind is installed.
    static func instructionsPerRead(quick: Bool) throws -> Double? {
        guard !quick, FileManager.default.isExecutableFile(atPath: "/usr/bin/valgrind") else { return nil }
        // valgrind 3.19 cannot read the DWARF this toolchain writes ("possibly corrupted debuginfo"): it runs a copy
        // of this binary without debug information.
        var me = URL(fileURLWithPath: CommandLine.arguments[0]).standardizedFileURL.path
        if let resolved = Bundle.main.executablePath { me = resolved }
        let stripped = NSTemporaryDirectory() + "cccd-bench-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: stripped) }
        let objcopy = Process()
        objcopy.executableURL = URL(fileURLWithPath: "/usr/bin/objcopy")
        objcopy.arguments = ["--strip-debug", me, stripped]
        if (try? objcopy.run()) != nil {
            objcopy.waitUntilExit()
            if objcopy.terminationStatus == 0 { me = stripped }
        }
        func count(_ reads: Int) throws -> Double? {
            let out = NSTemporaryDirectory() + "cccd-callgrind-\(UUID().uuidString)"
            defer { try? FileManager.default.removeItem(atPath: out) }
            let p = Process()
            p.executableURL = URL(fileURLWithPath: "/usr/bin/valgrind")
            // Only inside ReaderSession.readCard (the chip's work happens inside its transmit calls): the card's
            // key generation before the reads varies too much to subtract.
            p.arguments = [
                "--tool=callgrind", "--toggle-collect=$s6Reader0A7SessionC8readCard_7options*",
                "--callgrind-out-file=\(out)", me, "bench-reads", "\(reads)",
            ]
            p.standardOutput = FileHandle.nullDevice
            p.standardError = FileHandle.nullDevice
            try p.run()
            p.waitUntilExit()
            guard let text = try? String(contentsOfFile: out, encoding: .utf8),
                let line = text.split(separator: "\n").first(where: { $0.hasPrefix("summary:") }),
                let value = Double(line.split(separator: " ").last ?? "")
            else { return nil }
            return value
        }
        guard let one = try count(1), let three = try count(3) else { return nil }
        return (three - one) / 2
    }

    // MARK: Data preparation

    mutating func dataPreparation() throws {
        let records = SampleRecord.batch(
            count: quick ? 8 : 40, seed: 7, portrait: SampleRecord.portraitBase64Public,
            today: CalendarDate(year: 2026, month: 11, day: 30)!)
        let cores = ProcessInfo.processInfo.activeProcessorCount
        for algorithm in ["p256", "brainpoolP256r1", "rsa2048"] {
            let pki = try TestPKI(algorithm: algorithm)
            let validator = RecordValidator(today: CalendarDate(year: 2026, month: 11, day: 30))
            // OpenSSL signs with one key from several threads (as `prepare --batch` does).
            nonisolated(unsafe) let signer = pki.signer
            let prepare: @Sendable (CitizenRecord) throws -> Void = { r in
                _ = try DataPreparation.prepare(r, signer: signer, validator: validator)
            }
            let start1 = DispatchTime.now().uptimeNanoseconds
            for r in records { try prepare(r) }
            let one = Double(records.count) / (Double(DispatchTime.now().uptimeNanoseconds - start1) / 1e9)
            let startAll = DispatchTime.now().uptimeNanoseconds
            let failures = Locked(0)
            DispatchQueue.concurrentPerform(iterations: cores) { worker in
                for (i, r) in records.enumerated() where i % cores == worker {
                    do { try prepare(r) } catch { failures.withLock { $0 += 1 } }
                }
            }
            let all = Double(records.count) / (Double(DispatchTime.now().uptimeNanoseconds - startAll) / 1e9)
            // The floor: the chip's keys (RSA-2048 AA key pair, brainpoolP256r1 CA key pair), the EF.SOD signature
            // and the hashing of the data groups, raw.
            let keyCount = quick ? 3 : 10
            let rsaKey = try Self.seconds(rounds: 3, count: keyCount) { _ = try AsymmetricKey.generateRSA(bits: 2048) }
            let ecKey = try Self.seconds(count: 50) { _ = try AsymmetricKey.generateEC(.brainpoolP256r1) }
            let message = [UInt8](repeating: 9, count: 200)
            let sign = try Self.seconds(count: 50) { _ = try signer.key.digestSign(message, hash: .sha256) }
            let blob = [UInt8](repeating: 1, count: 16 * 1024)
            let hash = try Self.seconds(count: 100) { _ = HashAlgorithm.sha256.hash(blob) }
            let floorPerCard = rsaKey + ecKey + sign + hash
            let floorOne = 1 / floorPerCard
            add(
                "Data preparation", "\(algorithm) signer, 1 core", one, "cards/s", floor: floorOne,
                floorIs: "raw key generation + signature + hashing per card", better: "higher")
            add(
                "Data preparation", "\(algorithm) signer, \(cores) cores", all, "cards/s",
                floor: floorOne * Double(cores), floorIs: "raw key generation + signature + hashing per card",
                better: "higher", target: "≥ 0.70 of floor", meets: all >= 0.7 * floorOne * Double(cores))
            if failures.get() > 0 { throw BenchError("data preparation failed \(failures.get()) times") }
            if algorithm == "brainpoolP256r1" { preparationRate = one }
        }
    }

    // MARK: Personalization

    mutating func personalization() throws {
        let folder = NSTemporaryDirectory() + "cccd-bench-perso-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let today = CalendarDate(year: 2026, month: 11, day: 30)!
        let count = quick ? 6 : 40
        try SampleRecord.writeImages(to: folder)
        let records = SampleRecord.batch(count: count, seed: 11, portrait: "portrait.jpg", today: today)
        let pki = try TestPKI()
        let master = [UInt8](repeating: 0x42, count: 16)
        let journal = try SQLiteJournal(path: folder + "/journal.db")
        try journal.begin(
            batch: BatchRow(
                id: "bench", source: "bench", profile: "vn-cccd-2021", createdAt: Date(), recordCount: count),
            records: records.enumerated().map { ($0.offset + 1, $0.element.idNumber, "h\($0.offset)", nil) })
        let job = PersoJob(
            batchID: "bench",
            records: Dictionary(uniqueKeysWithValues: records.enumerated().map { ($0.offset + 1, $0.element) }),
            profile: .vietnamese2021, signer: pki.signer, trust: TrustStore(anchors: [pki.csca]),
            transportKeys: SoftwareTransportKeys(master: master), baseDirectory: folder, today: today)
        let slot = try EmulatedSlot(
            index: 0, folder: folder + "/out", master: master, commandSet: .secure,
            aid: VietnameseCard.applicationID,
            nextSerial: { BlankChip.serial(batch: 5, index: try journal.nextChipNumber()) })
        let summary = try PersoLine(job: job, journal: journal, slots: [slot]).run()
        guard summary.issued == count else {
            throw BenchError("the benchmark line issued \(summary.issued) of \(count) cards")
        }
        let perMinute = summary.cardsPerMinute
        add(
            "Personalization end to end (SQLite journal, 1 emulated station)", "cards issued, read back genuine",
            perMinute, "cards/min", floor: preparationRate.map { $0 * 60 },
            floorIs: "data preparation alone on one core (brainpoolP256r1 signer), this run", better: "higher")
        let total = max(summary.seconds, 1e-9)
        let rest = max(0, total - summary.preparationSeconds - summary.chipSeconds - summary.readBackSeconds)
        for (name, seconds) in [
            ("share: preparation (keys, DGs, EF.SOD, script)", summary.preparationSeconds),
            ("share: the chip (SCP03 writes, lock; the emulated chip saved after each)", summary.chipSeconds),
            ("share: read-back (PACE, CA, AA, PA, byte comparison)", summary.readBackSeconds),
            ("share: the journal and the rest", rest),
        ] {
            add(
                "Personalization end to end (SQLite journal, 1 emulated station)", name, seconds / total * 100, "%",
                floor: nil, floorIs: "none: shares of the line's time")
        }
    }

    // MARK: Host time per card

    /// The CPU seconds this thread has used.
    static func threadCPU() -> Double {
        var t = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t)
        return Double(t.tv_sec) + Double(t.tv_nsec) / 1e9
    }

    /// The CPU seconds the whole process has used.
    static func processCPU() -> Double {
        var t = timespec()
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t)
        return Double(t.tv_sec) + Double(t.tv_nsec) / 1e9
    }

    /// The emulated chip behind a slot, its CPU time taken apart: what the chip does (its key generation, its
    /// crypto) is the card's, not the host's.
    final class TimedChip: CardTransport, @unchecked Sendable {
        let chip: any CardTransport
        let spent = Locked(0.0)
        let commands = Locked(0)
        init(_ chip: any CardTransport) { self.chip = chip }
        var capabilities: TransportCapabilities { chip.capabilities }
        func transmit(_ command: CommandAPDU) throws -> ResponseAPDU {
            let start = Bench.threadCPU()
            defer {
                let used = Bench.threadCPU() - start
                spent.withLock { $0 += used }
                commands.withLock { $0 += 1 }
            }
            return try chip.transmit(command)
        }
    }

    final class TimedSlot: CardSlot, @unchecked Sendable {
        let base: EmulatedSlot
        let chipSeconds = Locked(0.0)
        let commands = Locked(0)
        private var current: TimedChip?
        init(_ base: EmulatedSlot) { self.base = base }
        var name: String { base.name }
        func wrap(_ card: (any CardTransport)?) -> (any CardTransport)? {
            guard let card else { return nil }
            let timed = TimedChip(card)
            current = timed
            return timed
        }
        func presentCard() -> (any CardTransport)? { wrap(base.presentCard()) }
        func awaitCard(stop: @escaping () -> Bool) throws -> (any CardTransport)? { wrap(try base.awaitCard(stop: stop)) }
        func reset(_ card: any CardTransport) throws { try base.reset((card as? TimedChip)?.chip ?? card) }
        func release(_ card: any CardTransport, outcome: SlotOutcome, stop: @escaping () -> Bool) throws {
            if let timed = card as? TimedChip {
                chipSeconds.withLock { $0 += timed.spent.get() }
                commands.withLock { $0 += timed.commands.get() }
            }
            try base.release((card as? TimedChip)?.chip ?? card, outcome: outcome, stop: stop)
        }
    }

    /// Host CPU per issued card on one core (one station), for each command set: everything the station does
    /// (preparation, the EF.SOD signature, SCP03, the journal, the read-back) with the emulated chip's own CPU taken
    /// out, against its floor (one EF.SOD signature plus the read-back's raw crypto); then a 4-reader line with a
    /// modelled chip, and the host's share of one core.
    mutating func hostTimePerCard() throws {
        let today = CalendarDate(year: 2026, month: 11, day: 30)!
        let count = quick ? 4 : 16
        let pki = try TestPKI()
        let jmrtd = try CardProfile(nameOrPath: "jmrtd-applet-td1")
        // Raw crypto for the floors.
        let message = [UInt8](repeating: 9, count: 200)
        let sign = try Self.seconds(count: 50) { _ = try pki.signer.key.digestSign(message, hash: .sha256) }
        let signature = try pki.signer.key.digestSign(message, hash: .sha256)
        let verify = try Self.seconds(count: 50) { _ = pki.signer.key.digestVerify(signature, message: message, hash: .sha256) }
        let group = try ECGroup(.brainpoolP256r1)
        let scalar = try group.randomScalar()
        let multiply = try Self.seconds(count: 50) { _ = try group.multiply(scalar) }
        let rsa2048 = try AsymmetricKey.generateRSA(bits: 2048)
        let rsa1024 = try AsymmetricKey.generateRSA(bits: 1024)
        let block2048 = [UInt8](repeating: 0x11, count: 256)
        let block1024 = [UInt8](repeating: 0x11, count: 128)
        let rsaPublic2048 = Self.seconds(count: 200) { _ = rsa2048.rsaPublicRaw(block2048) }
        let rsaPublic1024 = Self.seconds(count: 200) { _ = rsa1024.rsaPublicRaw(block1024) }
        let blob = [UInt8](repeating: 1, count: 20 * 1024)
        let hash = Self.seconds(count: 100) { _ = HashAlgorithm.sha256.hash(blob) }
        // secure: PACE (4 scalar multiplications), CA (2), AA (an RSA-2048 public operation), PA (the EF.SOD
        // signature and the DS certificate verified), the data groups hashed; and the EF.SOD signed.
        let secureFloor = sign + 6 * multiply + rsaPublic2048 + 2 * verify + hash
        // jmrtd-applet: BAC (3DES, nothing to count), AA (RSA-1024 public), PA, hashes; the EF.SOD signed.
        let jmrtdFloor = sign + rsaPublic1024 + 2 * verify + hash

        for (set, profile, floor) in [
            ("secure, keys made on the chip", CardProfile.vietnamese2021, secureFloor),
            ("jmrtd-applet, keys from the host's pool", jmrtd, jmrtdFloor),
        ] {
            let folder = NSTemporaryDirectory() + "cccd-bench-host-\(UUID().uuidString)"
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(atPath: folder) }
            try SampleRecord.writeImages(to: folder)
            let records = SampleRecord.batch(count: count, seed: 27, portrait: "portrait.jpg", today: today)
            let master = [UInt8](repeating: 0x42, count: 16)
            let journal = try SQLiteJournal(path: folder + "/journal.db")
            try journal.begin(
                batch: BatchRow(id: "host", source: "bench", profile: profile.name, createdAt: Date(), recordCount: count),
                records: records.enumerated().map { ($0.offset + 1, $0.element.idNumber, "h\($0.offset)", nil) })
            let job = PersoJob(
                batchID: "host",
                records: Dictionary(uniqueKeysWithValues: records.enumerated().map { ($0.offset + 1, $0.element) }),
                profile: profile, signer: pki.signer, trust: TrustStore(anchors: [pki.csca]),
                transportKeys: profile.persoCommandSet == .secure ? SoftwareTransportKeys(master: master) : nil,
                baseDirectory: folder, today: today)
            let slot = TimedSlot(
                try EmulatedSlot(
                    index: 0, folder: folder + "/chips", master: master, commandSet: profile.persoCommandSet,
                    aid: profile.applicationID,
                    nextSerial: { BlankChip.serial(batch: 7, index: try journal.nextChipNumber()) }))
            let aheadBefore = ChipKeyPool.secondsAhead
            let before = Self.processCPU()
            let summary = try PersoLine(job: job, journal: journal, slots: [slot]).run()
            let used = Self.processCPU() - before
            guard summary.issued == count else {
                throw BenchError("the benchmark line (\(set)) issued \(summary.issued) of \(count) cards")
            }
            let ahead = ChipKeyPool.secondsAhead - aheadBefore
            let host = max(0, used - slot.chipSeconds.get() - ahead) / Double(count)
            let chip = slot.chipSeconds.get() / Double(count)
            let commands = Double(slot.commands.get()) / Double(count)
            let section = "Host time per card (1 core, 1 emulated station, \(count) cards)"
            let isSecure = profile.persoCommandSet == .secure
            add(
                section, "\(set): host CPU per card", host * 1000, "ms", floor: floor * 1000,
                floorIs: "one EF.SOD signature + the read-back's raw crypto (PACE/BAC, CA, AA, PA, hashes)",
                target: isSecure ? "≤ 100 ms" : nil, meets: isSecure ? host <= 0.1 : nil)
            if ahead > 0 {
                add(
                    section, "\(set): keys made ahead on idle cores, per card", ahead / Double(count) * 1000, "ms",
                    floor: nil, floorIs: "none: off the cards' path (ChipKeyPool)")
            }
            add(
                section, "\(set): the emulated chip's own CPU per card (not the host's)", chip * 1000, "ms",
                floor: nil, floorIs: "none: the chip's work (its key generation, its crypto), taken apart")
            // A 4-reader line with a modelled chip: key generation on the chip as a stated figure (a JCOP-class
            // secure element: RSA-2048 about 4 s, an EC P-256-class key about 0.1 s; jmrtd-applet chips make none),
            // and 20 ms per APDU on a contact reader.
            let keygen = isSecure ? 4.0 + 0.1 : 0
            let chipModelled = keygen + commands * 0.020
            let perMinute = 60 * min(4 / chipModelled, 1 / max(host, 1e-9))
            add(
                section, "\(set): 4-reader line, modelled chip (keygen \(isSecure ? "4.1 s" : "none"), 20 ms/APDU × \(Int(commands.rounded())))",
                perMinute, "cards/min", floor: 60 * 4 / chipModelled,
                floorIs: "the 4 readers' chips alone (the host never the bottleneck)", better: "higher")
            add(
                section, "\(set): the host's share of one core on that line", perMinute / 60 * host * 100, "%",
                floor: nil, floorIs: "none: host CPU per card × cards per second")
        }
    }

    // MARK: Memory

    static func residentKB(_ field: String) -> Double {
        guard let text = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
            let line = text.split(separator: "\n").first(where: { $0.hasPrefix(field + ":") })
        else { return 0 }
        return Double(line.split(separator: " ").dropFirst().first ?? "0") ?? 0
    }

    static func openDescriptors() -> Int {
        (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd").count) ?? -1
    }

    mutating func memory() throws {
        let image = try SampleCard.image()
        let reads = quick ? 300 : 10_000
        // Warm up (caches, the first allocations), then measure the growth.
        for _ in 0..<20 {
            _ = try ReaderSession(transport: try EmulatedChip(image: image)).readCard(.can(SampleCard.can))
        }
        let before = Self.residentKB("VmRSS")
        let descriptorsBefore = Self.openDescriptors()
        for _ in 0..<reads {
            _ = try ReaderSession(transport: try EmulatedChip(image: image)).readCard(.can(SampleCard.can))
        }
        let after = Self.residentKB("VmRSS")
        let descriptorsAfter = Self.openDescriptors()
        add(
            "Memory", "open file descriptors after \(reads) reads", Double(descriptorsAfter), "fds",
            floor: Double(descriptorsBefore), floorIs: "open before them (no leak: ratio 1)", target: "flat",
            meets: descriptorsAfter <= descriptorsBefore)
        let growth = (after - before) / 1024
        add(
            "Memory", "RSS after \(reads) consecutive verified reads", after / 1024, "MB", floor: before / 1024,
            floorIs: "RSS before them (flat: ratio 1)", target: "growth < 5 MB", meets: growth < 5)
        // Data preparation: the growth over a batch, projected to 100,000 records (a full 100,000-record batch
        // takes hours of RSA key generation on this machine; the growth per record is what would add up).
        let today = CalendarDate(year: 2026, month: 11, day: 30)!
        let prepared = quick ? 40 : 400
        let records = SampleRecord.batch(
            count: prepared, seed: 3, portrait: SampleRecord.portraitBase64Public, today: today)
        let pki = try TestPKI(algorithm: "p256")
        nonisolated(unsafe) let signer = pki.signer
        let validator = RecordValidator(today: today)
        let cores = ProcessInfo.processInfo.activeProcessorCount
        // Warm-up: the first cards allocate what every card reuses.
        for r in records.prefix(4) { _ = try DataPreparation.prepare(r, signer: signer, validator: validator) }
        let start = Self.residentKB("VmRSS")
        DispatchQueue.concurrentPerform(iterations: cores) { worker in
            for (i, r) in records.enumerated() where i % cores == worker {
                _ = try? DataPreparation.prepare(r, signer: signer, validator: validator)
            }
        }
        let perRecord = max(0, Self.residentKB("VmRSS") - start) / 1024 / Double(prepared)
        let projected = start / 1024 + perRecord * 100_000
        add(
            "Memory", "RSS projected after 100,000 prepared records (growth of \(prepared))", projected, "MB",
            floor: start / 1024, floorIs: "RSS before the batch", target: "< 200 MB", meets: projected < 200)
        try persoSoak()
        add(
            "Memory", "peak RSS of this run", Self.residentKB("VmHWM") / 1024, "MB", floor: Bench.startRSS / 1024,
            floorIs: "RSS when the run started")
    }

    /// A personalization soak, compressed in time: cards issued one after another by one line in one process
    /// (SQLite journal, an emulated station over SCP03, every card read back), RSS and open descriptors after a
    /// warm-up and at the end, the growth per card projected to a day of a four-reader line. EC chip keys
    /// (profile icao-td3-pace) keep the key generation from taking the whole run.
    mutating func persoSoak() throws {
        let warm = quick ? 20 : 200
        let total = quick ? 80 : 2_000
        let folder = NSTemporaryDirectory() + "cccd-bench-soak-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let today = CalendarDate(year: 2026, month: 11, day: 30)!
        try SampleRecord.writeImages(to: folder)
        let records = SampleRecord.batch(count: total, seed: 29, portrait: "portrait.jpg", today: today)
        let profile = try CardProfile(nameOrPath: "icao-td3-pace")
        let pki = try TestPKI(algorithm: "p256")
        let master = [UInt8](repeating: 0x24, count: 16)
        let journal = try SQLiteJournal(path: folder + "/journal.db")
        let slot = try EmulatedSlot(
            index: 0, folder: folder + "/out", master: master, commandSet: .secure, aid: profile.applicationID,
            nextSerial: { BlankChip.serial(batch: 6, index: try journal.nextChipNumber()) })
        func line(_ batch: String, _ part: ArraySlice<CitizenRecord>) throws {
            try journal.begin(
                batch: BatchRow(
                    id: batch, source: "soak", profile: profile.name, createdAt: Date(), recordCount: part.count),
                records: part.enumerated().map { ($0.offset + 1, $0.element.idNumber, "h\($0.offset)", nil) })
            let job = PersoJob(
                batchID: batch,
                records: Dictionary(uniqueKeysWithValues: part.enumerated().map { ($0.offset + 1, $0.element) }),
                profile: profile, signer: pki.signer, trust: TrustStore(anchors: [pki.csca]),
                transportKeys: SoftwareTransportKeys(master: master), baseDirectory: folder, today: today)
            let summary = try PersoLine(job: job, journal: journal, slots: [slot]).run()
            guard summary.issued == part.count else {
                throw BenchError("the soak line issued \(summary.issued) of \(part.count) cards")
            }
            // The card files a station writes (cards/) are the line's output, not its memory: keep the folder small.
            for name in (try? FileManager.default.contentsOfDirectory(atPath: folder + "/out/cards")) ?? [] {
                try? FileManager.default.removeItem(atPath: folder + "/out/cards/" + name)
            }
        }
        try line("soak-warm", records[0..<warm])
        let before = Self.residentKB("VmRSS")
        let descriptorsBefore = Self.openDescriptors()
        let start = DispatchTime.now().uptimeNanoseconds
        try line("soak", records[warm..<total])
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        let after = Self.residentKB("VmRSS")
        let descriptorsAfter = Self.openDescriptors()
        let cards = total - warm
        add(
            "Memory", "open file descriptors after a perso soak of \(cards) cards", Double(descriptorsAfter), "fds",
            floor: Double(descriptorsBefore), floorIs: "open before it (no leak: ratio 1)", target: "flat",
            meets: descriptorsAfter <= descriptorsBefore)
        add(
            "Memory", "RSS after a perso soak of \(cards) cards (\(Int(Double(cards) / seconds * 60)) cards/min)",
            after / 1024, "MB", floor: before / 1024, floorIs: "RSS after \(warm) warm-up cards",
            target: "growth < 5 MB",
            meets: (after - before) / 1024 < 5)
        // A day of a four-reader line at 15 s a card (a real chip's writes and read-back): 23,040 cards.
        let day = 23_040.0
        let projected = before / 1024 + max(0, after - before) / 1024 / Double(cards) * day
        add(
            "Memory", "RSS projected after a day of a 4-reader line (23,040 cards)", projected, "MB",
            floor: before / 1024, floorIs: "RSS before the soak", target: "< 200 MB", meets: projected < 200)
    }
}


extension String {
    func leftPadded(_ width: Int) -> String {
        count >= width ? self : String(repeating: " ", count: width - count) + self
    }
    func padding(_ width: Int) -> String { count >= width ? self : self + String(repeating: " ", count: width - count) }
}

/// A benchmark whose own check failed (its figures would mean nothing).
struct BenchError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

extension Bench {
    /// Runs `binary` with `arguments` (stdout and stderr to /dev/null) and waits: its exit status.
    static func spawn(_ binary: String, _ arguments: [String]) throws -> Int32 {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
        let argv = ([binary] + arguments).map { strdup($0) } + [nil]
        defer { for p in argv { free(p) } }
        var pid: pid_t = 0
        let rc = posix_spawn(&pid, binary, &actions, nil, argv, environ)
        guard rc == 0 else { throw BenchError("cannot start \(binary): \(String(cString: strerror(rc)))") }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        return (status >> 8) & 0xFF
    }
}

/// The raw OpenSSL operations a verified read needs, timed in this run: the floors of the CPU figures.
struct RawCosts {
    var mult: Double
    var verify: Double
    var rsaPublic: Double
    var rsaPrivate: Double
    /// SHA-256 and AES-CBC + CMAC, per byte.
    var sha: Double
    var smPerByte: Double

    init(quick: Bool) throws {
        let group = try ECGroup(.brainpoolP256r1)
        let scalar = try group.randomScalar()
        let point = try group.multiply(scalar)
        let ecKey = try AsymmetricKey.generateEC(.brainpoolP256r1)
        let message = [UInt8](repeating: 7, count: 64)
        let signature = try ecKey.signECDSAPlain(message, hash: .sha256)
        let rsa = try AsymmetricKey.generateRSA(bits: 2048)
        let rsaInput = [UInt8](repeating: 0x01, count: 255)
        let rsaSignature = try rsa.rsaPrivateRaw([0] + rsaInput)
        let n = quick ? 20 : 100
        mult = try Bench.seconds(count: n) { _ = try group.multiply(scalar, point) }
        verify = try Bench.seconds(count: n) {
            _ = ecKey.verifyECDSAPlain(signature, message: message, hash: .sha256)
        }
        rsaPublic = try Bench.seconds(count: n) { _ = rsa.rsaPublicRaw(rsaSignature) }
        rsaPrivate = try Bench.seconds(count: n / 4 + 1) { _ = try rsa.rsaPrivateRaw([0] + rsaInput) }
        let blob = [UInt8](repeating: 1, count: 64 * 1024)
        sha = try Bench.seconds(count: n) { _ = HashAlgorithm.sha256.hash(blob) } / Double(blob.count)
        let enc = try BlockCipher(.aes128, mode: .cbc, key: [UInt8](repeating: 3, count: 16))
        let cmac = try CMAC(key: [UInt8](repeating: 4, count: 16))
        smPerByte =
            try Bench.seconds(count: n) {
                let e = try enc.encrypt(blob, iv: [UInt8](repeating: 0, count: 16))
                _ = cmac.authenticate(e)
            } / Double(blob.count)
    }

    /// The reader's floor: 7 scalar multiplications on brainpoolP256r1 (PACE GM: mapping key pair, mapping secret,
    /// mapped generator, key-agreement key pair, shared secret; CA: key pair, shared secret), 2 ECDSA
    /// verifications (EF.SOD, the DS certificate), 1 RSA-2048 public operation (AA), SHA-256 over every file,
    /// AES-CBC + CMAC over every byte on the wire.
    func readerFloor(fileBytes: Int, wireBytes: Int) -> Double {
        7 * mult + 2 * verify + rsaPublic + sha * Double(fileBytes) + smPerByte * Double(wireBytes)
    }
}
