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
import TestSupport
import Testing
import Verification

/// The sample record prepared on vn-cccd-2021 by a TEST PKI, once for the suite: the card the relay reads.
enum RelayFixture {
    struct Prepared: @unchecked Sendable {
        let image: CardImage
        let csca: Certificate
        let clone: CardImage
    }

    static let prepared: Prepared = {
        let pki = try! TestPKI()
        let image = try! DataPreparation.prepare(
            SampleRecord.record, signer: pki.signer, validator: RecordValidator(today: CalendarDate(year: 2026, month: 11, day: 30)!))
        // A clone: every file copied, the chip's private keys not (they never leave a real chip).
        var clone = image
        clone.secrets.chipAuthenticationKey = try! AsymmetricKey.generateEC(.brainpoolP256r1).privateKeyDER()
        clone.secrets.activeAuthenticationKey = try! AsymmetricKey.generateRSA(bits: 2048).privateKeyDER()
        return Prepared(image: image, csca: pki.csca, clone: clone)
    }()

    static let secret: [UInt8] = (0..<32).map { UInt8($0 &* 7 &+ 3) }
}

/// A relay on a free port, in-process, on threads of its own.
final class InProcessRelay: @unchecked Sendable {
    let port: Int
    let verifier: RelayVerifier
    let reportKey: AsymmetricKey
    let task: Task<Void, any Error>

    var url: String { "ws://127.0.0.1:\(port)\(RelayProtocol.path)" }
    var tokens: RelayTokenIssuer { verifier.tokens }

    init(
        configure: (inout RelayVerifier.Configuration) -> Void = { _ in }, audit: any RelayAuditStore = RelayMemoryAudit(),
        backendToken: String? = nil, reportKey: AsymmetricKey? = nil, executor: ThreadExecutor = InProcessRelay.servers
    ) async throws {
        var configuration = RelayVerifier.Configuration(trust: TrustStore(anchors: [RelayFixture.prepared.csca]))
        configure(&configuration)
        let key = try reportKey ?? AsymmetricKey.generateEC(.secp256r1)
        self.reportKey = key
        verifier = RelayVerifier(
            configuration: configuration, tokens: try RelayTokenIssuer(secret: RelayFixture.secret),
            signer: try ReportSigner(key: key), audit: audit)
        var options = RelayServer.Options(host: "127.0.0.1", port: 0, backendToken: backendToken)
        options.logLevel = .critical
        let server = RelayServer(verifier: verifier, options: options)
        let (ports, continuation) = AsyncStream<Int>.makeStream()
        task = Task(executorPreference: executor) {
            try await withThrowingDiscardingTaskGroup { group in
                group.addTask { try await server.application { continuation.yield($0) }.run() }
            }
        }
        var iterator = ports.makeAsyncIterator()
        guard let port = await iterator.next() else { throw RawHTTP.Failure(description: "the relay did not start") }
        self.port = port
    }

    deinit { task.cancel() }

    /// One session with a fresh token bound to the sample CAN, through an in-process chip.
    func read(
        image: CardImage = RelayFixture.prepared.image, link: RelayClient.Link = .init(), tamper: RelayClient.Tamper = .none,
        token: String? = nil, can: String = SampleCard.can, extendedLength: Bool = true
    ) async throws -> RelayClient.Outcome {
        let token = token ?? tokens.issue(client: "test-\(UUID().uuidString.prefix(8))", card: .can(SampleCard.can)).token
        var hello = RelayHello(token: token, can: can, extendedLength: extendedLength)
        hello.client = "relay-tests"
        let chip = try EmulatedChip(image: image, settings: EmulatorSettings(supportsExtendedLength: extendedLength))
        nonisolated(unsafe) let card = chip
        let url = self.url
        let first = hello
        // The phone and its chip on threads of their own: the suite's shared pool may be busy with other tests.
        return try await Task(executorPreference: Self.clients) {
            try await RelayClient.run(url: url, hello: first, card: card, link: link, tamper: tamper)
        }.value
    }

    /// One raw HTTP exchange, on a thread of its own: a blocking wait on the suite's shared pool could hold the
    /// very thread the server's upgrade decision needs.
    func ask(_ text: String, timeout: Double = 20) async throws -> RawHTTP.Answer {
        let c = try RawHTTP(port: port)
        return await withCheckedContinuation { continuation in
            Thread {
                c.send(text)
                continuation.resume(returning: c.answer(timeout: timeout))
            }.start()
        }
    }

    /// Where the tests' relay servers run: threads of their own, apart from the other suites' servers (the desk's
    /// in-process service shares `ThreadExecutor.testServer`).
    static let servers = ThreadExecutor(threads: 2, name: "cccdkit-relay-servers")

    /// Where the tests' relay clients (and their emulated chips) run.
    static let clients = ThreadExecutor(threads: 3, name: "cccdkit-relay-clients")
}

/// The bank's back end: the JWS verified with the pinned key by our verifier and by openssl, its payload parsed.
enum BankBackEnd {
    struct Verified {
        var payload: [String: Any]
        var report: [String: Any]
    }

    static func verify(_ jws: String, key: AsymmetricKey) throws -> Verified {
        let payload = try ReportVerifier(publicKey: key).verify(jws)
        try verifyWithOpenSSL(jws, key: key)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(payload)) as? [String: Any])
        let report = try #require(object["report"] as? [String: Any])
        return Verified(payload: object, report: report)
    }

    /// An independent check: `openssl dgst -verify` over the JWS signing input (ES*: r ‖ s turned into DER).
    static func verifyWithOpenSSL(_ jws: String, key: AsymmetricKey) throws {
        let parts = jws.split(separator: ".").map(String.init)
        try #require(parts.count == 3)
        let folder = NSTemporaryDirectory() + "cccdkit-jws-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        try Data((parts[0] + "." + parts[1]).utf8).write(to: URL(fileURLWithPath: folder + "/input"))
        try Data(try key.publicKeyPEM().utf8).write(to: URL(fileURLWithPath: folder + "/pub.pem"))
        var signature = try #require(Base64URL.decode(parts[2]))
        var extra: [String] = []
        if key.kind == .ec {
            signature = derECDSA(signature)
        } else {
            extra = ["-sigopt", "rsa_padding_mode:pss", "-sigopt", "rsa_pss_saltlen:32"]
        }
        try Data(signature).write(to: URL(fileURLWithPath: folder + "/sig"))
        let hash = key.kind == .ec && key.curve == .secp384r1 ? "-sha384" : "-sha256"
        let out = try CommandLineRunner.tool(
            "/usr/bin/openssl", ["dgst", hash, "-verify", folder + "/pub.pem", "-signature", folder + "/sig"] + extra + [folder + "/input"])
        #expect(out.status == 0 && out.stdout.contains("Verified OK"), "openssl: \(out.stdout) \(out.stderr)")
    }

    static func derECDSA(_ raw: [UInt8]) -> [UInt8] {
        func integer(_ bytes: ArraySlice<UInt8>) -> [UInt8] {
            var v = Array(bytes.drop { $0 == 0 })
            if v.isEmpty { v = [0] }
            if v[0] & 0x80 != 0 { v = [0] + v }
            return [0x02, UInt8(v.count)] + v
        }
        let half = raw.count / 2
        let body = integer(raw[..<half]) + integer(raw[half...])
        return body.count < 128 ? [0x30, UInt8(body.count)] + body : [0x30, 0x81, UInt8(body.count)] + body
    }
}

@Suite("The bank relay: the server reads the card over APDUs a client relays")
struct RelayTests {
    @Test("A read through the relay: genuine, every check passed, 80 ms round trips; the signed report verified by the back end (ours and openssl)")
    func genuineThroughRelay() async throws {
        let relay = try await InProcessRelay()
        let (token, claims) = relay.tokens.issue(client: "alice", card: .can(SampleCard.can))
        let outcome = try await relay.read(link: .init(roundTrip: 0.08), token: token)
        guard case .result(let sid, let genuine, let verdict, let jws)? = outcome.final else {
            Issue.record("no result: \(String(describing: outcome.final))")
            return
        }
        #expect(genuine, "\(verdict)")
        #expect(verdict == "GENUINE")
        #expect(sid == claims.sid)
        // The Vietnamese read: 16 APDUs with extended length (PACE 5, CA 2, AA 1, files), each one 80 ms round trip.
        #expect(outcome.commands <= 17, "\(outcome.commands) APDUs")
        #expect(outcome.seconds >= Double(outcome.commands) * 0.08)
        print("relay read at 80 ms RTT: \(outcome.commands) APDUs, \(String(format: "%.3f", outcome.seconds)) s wall")
        let bank = try BankBackEnd.verify(jws, key: relay.reportKey)
        #expect(bank.payload["sid"] as? String == claims.sid)
        #expect(bank.payload["client"] as? String == "alice")
        #expect(bank.report["genuine"] as? Bool == true)
        let checks = try #require(bank.report["checks"] as? [String: [String: Any]])
        for check in ["passiveAuthentication", "chipAuthentication", "activeAuthentication", "documentValidity", "recordConsistency"] {
            #expect(checks[check]?["status"] as? String == "passed", "\(check): \(String(describing: checks[check]))")
        }
        #expect((bank.report["holder"] as? [String: Any])?["idNumber"] as? String == SampleCard.idNumber)
        // The portrait for the face match: DG2's face, byte for byte as the chip holds it.
        let portrait = try #require(bank.payload["portrait"] as? [String: Any])
        let dg2 = try #require(RelayFixture.prepared.image.content(of: .dataGroup(2)))
        let face = try #require(Portrait(dataGroup2: dg2))
        #expect(Data(base64Encoded: portrait["data"] as? String ?? "") == Data(face.original))
        let relayFigures = try #require(bank.payload["relay"] as? [String: Any])
        #expect(relayFigures["apdus"] as? Int == outcome.commands)
        #expect((relayFigures["medianRoundTripMilliseconds"] as? Int ?? 0) >= 80)
        // A forged report (one payload byte changed) does not verify.
        var parts = jws.split(separator: ".").map(String.init)
        var payload = try #require(Base64URL.decode(parts[1]))
        payload[payload.count / 2] ^= 0x01
        parts[1] = Base64URL.encode(payload)
        #expect(throws: ReportVerifier.Failure.self) { try ReportVerifier(publicKey: relay.reportKey).verify(parts.joined(separator: ".")) }
        // Another key does not verify it either.
        #expect(throws: ReportVerifier.Failure.self) {
            try ReportVerifier(publicKey: try AsymmetricKey.generateEC(.secp256r1)).verify(jws)
        }
    }

    @Test("Short APDUs only, a P-384 and an RSA report key: still genuine, and verified by openssl")
    func shortAPDUsAndOtherKeys() async throws {
        for key in [try AsymmetricKey.generateEC(.secp384r1), try AsymmetricKey.generateRSA(bits: 2048)] {
            let relay = try await InProcessRelay(reportKey: key)
            let outcome = try await relay.read(extendedLength: false)
            guard case .result(_, let genuine, let verdict, let jws)? = outcome.final else {
                Issue.record("no result: \(String(describing: outcome.final)) after \(outcome.commands) commands")
                continue
            }
            #expect(genuine, "\(verdict)")
            let header = try #require(Base64URL.decode(jws.split(separator: ".")[0]))
            #expect(String(decoding: header, as: UTF8.self).contains(key.kind == .rsa ? "PS256" : "ES384"))
            _ = try BankBackEnd.verify(jws, key: key)
        }
    }

    /// What a misbehaving relay gets: never a genuine report.
    static func neverGenuine(_ outcome: RelayClient.Outcome, _ what: String) -> String? {
        switch outcome.final {
        case .result(_, let genuine, let verdict, _)?:
            #expect(!genuine, "\(what): \(verdict)")
            return genuine ? nil : verdict
        case .error(let error)?: return error.code.rawValue
        case .command?, nil:
            Issue.record("\(what): no final message")
            return nil
        }
    }

    @Test("A relay that replays a recorded session, reorders answers, mislabels, duplicates or answers from a clone: not genuine, relay tampering")
    func tampering() async throws {
        let relay = try await InProcessRelay()
        let recorded = try await relay.read()
        guard case .result(_, true, _, _)? = recorded.final else {
            Issue.record("the recorded session is not genuine: \(String(describing: recorded.final))")
            return
        }
        // The recorded answers, replayed to a new session: the server's PACE keys are fresh, so the chip's token
        // (from the recording) does not verify.
        let replay = try await relay.read(tamper: .replay(recorded.answers))
        #expect(Self.neverGenuine(replay, "replay") == "NOT GENUINE: relay tampering")
        // The answer stream one command late from the 7th command on (inside secure messaging).
        // Before secure messaging (n = 2: the SELECT's answer given to MSE:Set AT) a wrong answer is a card
        // error; inside it, tampering.
        let early = try await relay.read(tamper: .reorderAnswers(2))
        #expect(Self.neverGenuine(early, "reordered from 2") == "cardError")
        for n in [7, 12] {
            let late = try await relay.read(tamper: .reorderAnswers(n))
            let verdict = Self.neverGenuine(late, "reordered from \(n)")
            #expect(verdict == "NOT GENUINE: relay tampering", "reordered at \(n): \(String(describing: verdict)) \(String(describing: late.final))")
        }
        // Two answers out of order by their numbers, and one answer twice.
        let labels = try await relay.read(tamper: .reorderLabels(5))
        #expect(Self.neverGenuine(labels, "labels") == "NOT GENUINE: relay tampering")
        let twice = try await relay.read(tamper: .duplicate(9))
        #expect(Self.neverGenuine(twice, "duplicate") == "NOT GENUINE: relay tampering")
        // The report says why, signed like any other.
        if case .result(_, _, _, let jws)? = twice.final {
            let bank = try BankBackEnd.verify(jws, key: relay.reportKey)
            #expect((bank.report["reasons"] as? [String])?.first?.contains("relay tampering") == true)
            #expect(bank.report["genuine"] as? Bool == false)
        }
        // A clone: the files copied, the chip keys not.
        let clone = try await relay.read(image: RelayFixture.prepared.clone)
        #expect(Self.neverGenuine(clone, "clone") != nil)
    }

    @Test("A dropped answer: the session ends with a typed timeout, no report")
    func droppedAnswer() async throws {
        let relay = try await InProcessRelay { $0.answerTimeout = 0.5 }
        let outcome = try await relay.read(tamper: .drop(6))
        #expect(Self.neverGenuine(outcome, "drop") == "timeout")
        guard case .error(let error)? = outcome.final else { return }
        #expect(error.message.contains("no answer to command 6"), "\(error.message)")
        #expect(outcome.commands == 6)
    }

    @Test("Tokens: expired, forged, another card, used twice, over the rate; caps on APDUs; bad hellos: each its typed error")
    func tokenRules() async throws {
        let relay = try await InProcessRelay { $0.sessionsPerClientPerMinute = 2 }
        func code(_ outcome: RelayClient.Outcome) -> String? {
            if case .error(let e)? = outcome.final { return e.code.rawValue }
            return nil
        }
        let expired = relay.tokens.issue(client: "x", lifetime: -1).token
        #expect(code(try await relay.read(token: expired)) == "tokenExpired")
        let forged = try RelayTokenIssuer(secret: [UInt8](repeating: 9, count: 32)).issue(client: "x").token
        #expect(code(try await relay.read(token: forged)) == "badToken")
        let bound = relay.tokens.issue(client: "y", card: .can("123456")).token
        #expect(code(try await relay.read(token: bound)) == "wrongCard")
        let once = relay.tokens.issue(client: "z").token
        #expect(try await relay.read(token: once).final.map { if case .result = $0 { true } else { false } } == true)
        #expect(code(try await relay.read(token: once)) == "tokenUsed")
        // Client z has started two sessions this minute (one refused as used): the third is over the rate.
        #expect(code(try await relay.read(token: relay.tokens.issue(client: "z").token)) == "rateLimited")
        let capped = relay.tokens.issue(client: "w", apdus: 10).token
        #expect(code(try await relay.read(token: capped)) == "tooManyAPDUs")
        // A wrong CAN with an unbound token: the card refuses it.
        #expect(code(try await relay.read(token: relay.tokens.issue(client: "v").token, can: "123456")) == "accessDenied")
    }

    @Test("Hostile hellos and answers: typed errors, the connection closed, the server still serving")
    func hostileMessages() async throws {
        let relay = try await InProcessRelay()
        let token = relay.tokens.issue(client: "h").token
        let cases: [(String, String)] = [
            ("not json", "badMessage"),
            ("{\"type\":\"hello\",\"version\":2,\"token\":\"\(token)\",\"can\":\"000000\"}", "unsupportedVersion"),
            ("{\"type\":\"hello\",\"version\":1,\"token\":\"\(token)\",\"can\":\"000000\",\"extra\":1}", "badMessage"),
            ("{\"type\":\"hello\",\"version\":1,\"token\":\"\(token)\",\"token\":\"x\"}", "badMessage"),
            ("{\"type\":\"answer\",\"seq\":1,\"apdu\":\"9000\"}", "badMessage"),
            ("{\"type\":\"hello\",\"version\":1,\"token\":\"\(token)\"}", "badMessage"),
            (String(repeating: "[", count: 10_000), "badMessage"),
        ]
        for (text, expected) in cases {
            let outcome = try await RawRelay.exchange(url: relay.url, messages: [text])
            #expect(outcome.contains("\"code\":\"\(expected)\""), "\(text.prefix(60)): \(outcome)")
        }
        // After the hello: an answer for a command never sent, then garbage.
        for bad in ["{\"type\":\"answer\",\"seq\":99,\"apdu\":\"9000\"}", "{\"type\":\"answer\",\"seq\":1,\"apdu\":\"zz\"}"] {
            let fresh = relay.tokens.issue(client: "h2-\(UUID().uuidString.prefix(6))").token
            let hello = RelayHello(token: fresh, can: SampleCard.can).json()
            let outcome = try await RawRelay.exchange(url: relay.url, messages: [hello, bad])
            #expect(outcome.contains("\"type\":\"error\"") || outcome.contains("relay tampering"), "\(bad): \(outcome)")
            #expect(!outcome.contains("\"genuine\":true"))
        }
        // Nothing at all after the upgrade: the hello's timeout ends it.
        let quiet = try await InProcessRelay { $0.helloTimeout = 0.5 }
        let silent = try await RawRelay.exchange(url: quiet.url, messages: [])
        #expect(silent.contains("\"code\":\"timeout\""), "\(silent)")
        let after = try await relay.read()
        #expect(after.final.map { if case .result(_, true, _, _) = $0 { true } else { false } } == true)
    }

    @Test("Audit rows on SQLite: one per session with its outcome; a token's second use recorded nowhere; metrics count it all")
    func auditAndMetrics() async throws {
        let path = NSTemporaryDirectory() + "cccdkit-relay-audit-\(UUID().uuidString).db"
        defer { try? FileManager.default.removeItem(atPath: path) }
        let audit = try RelaySQLiteAudit(path: path)
        let relay = try await InProcessRelay(audit: audit)
        let (token, claims) = relay.tokens.issue(client: "audited", card: .can(SampleCard.can))
        _ = try await relay.read(token: token)
        _ = try await relay.read(token: token)
        _ = try await relay.read(tamper: .duplicate(3))
        let rows = try await audit.rows(limit: 10)
        #expect(rows.count == 2)
        let row = try #require(rows.first { $0.sid == claims.sid })
        #expect(row.outcome == "genuine")
        #expect(row.client == "audited")
        #expect(row.idNumber == SampleCard.idNumber)
        #expect(row.apdus >= 10 && row.bytes > 5_000, "\(row.apdus) APDUs, \(row.bytes) bytes")
        #expect(row.checks?.contains("chipAuthentication=passed") == true)
        #expect(rows.contains { $0.outcome == "tampering" })
        let text = try await relay.ask("GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n").body
        #expect(text.contains("cccd_relay_sessions_total{outcome=\"genuine\"} 1"), "\(text)")
        #expect(text.contains("cccd_relay_sessions_total{outcome=\"tokenUsed\"} 1"))
        #expect(text.contains("cccd_relay_sessions_total{outcome=\"tampering\"} 1"))
        #expect(text.contains("cccd_relay_apdus_total"))
        #expect(text.contains("cccd_relay_apdu_round_trip_seconds_bucket"))
    }

    @Test("Two instances sharing the PostgreSQL audit: a token used on one is refused on the other")
    func postgresAcrossInstances() async throws {
        let url = try #require(
            ProcessInfo.processInfo.environment["CCCDKIT_POSTGRES_URL"],
            "no PostgreSQL (CCCDKIT_POSTGRES_URL): run the tests with `make test` (scripts/with-postgres.sh)")
        let a = try await InProcessRelay(audit: try await RelayPostgresAudit(url: url))
        let b = try await InProcessRelay(audit: try await RelayPostgresAudit(url: url))
        let (token, claims) = a.tokens.issue(client: "pg", card: .can(SampleCard.can))
        let first = try await a.read(token: token)
        guard case .result(_, true, _, _)? = first.final else {
            Issue.record("not genuine on instance A: \(String(describing: first.final))")
            return
        }
        let second = try await b.read(token: token)
        guard case .error(let error)? = second.final else {
            Issue.record("instance B accepted a used token: \(String(describing: second.final))")
            return
        }
        #expect(error.code == .tokenUsed)
        let rows = try await RelayPostgresAudit(url: url).rows(limit: 50)
        #expect(rows.filter { $0.sid == claims.sid }.count == 1)
        #expect(rows.first { $0.sid == claims.sid }?.outcome == "genuine")
        // A dead database: the session is refused (a token's single use cannot be checked), typed.
        await #expect(throws: RelayError.self) { _ = try await RelayPostgresAudit(url: "postgres://cccd@127.0.0.1:1/cccd") }
    }

    @Test("The back end's POST /relay/v1/sessions: a bound token for a bearer, 401 without; browser origins refused before the upgrade")
    func backendAndOrigins() async throws {
        let relay = try await InProcessRelay(backendToken: "backend-secret-0123456789")
        let body = "{\"client\":\"bank-app-1\",\"can\":\"000000\",\"lifetime\":60}"
        func post(_ auth: String) async throws -> RawHTTP.Answer {
            try await relay.ask(
                "POST /relay/v1/sessions HTTP/1.1\r\nHost: 127.0.0.1\r\n\(auth)Content-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\n\r\n\(body)")
        }
        #expect(try await post("").status == 401)
        #expect(try await post("Authorization: Bearer wrong\r\n").status == 401)
        let ok = try await post("Authorization: Bearer backend-secret-0123456789\r\n")
        #expect(ok.status == 200, "\(ok.body)")
        let token = try #require(ok.json?["token"] as? String)
        #expect(ok.json?["cardBound"] as? Bool == true)
        let outcome = try await relay.read(token: token)
        #expect(outcome.final.map { if case .result(_, true, _, _) = $0 { true } else { false } } == true)
        func upgrade(_ origin: String) async throws -> RawHTTP.Answer {
            try await relay.ask(
                "GET /relay/v1 HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: x3JJHMbDL1EzLkh9GBhXDw==\r\n\(origin)\r\n")
        }
        let refused = try await upgrade("Origin: https://evil.example\r\n")
        // Refused before the upgrade (Hummingbird's upgrade path answers the refusal 400).
        #expect(refused.status == 400 || refused.status == 403, "\(refused.status) \(refused.body)")
        #expect(try await upgrade("").status == 101)
        let api = try await relay.ask("GET /relay/v1/asyncapi.json HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        #expect(api.json?["asyncapi"] as? String == "2.6.0")
    }
}

@Suite("The bank relay at scale")
struct RelayScaleTests {
    /// The soak's server on threads of its own: 200 sessions must not slow the other suites' servers.
    static let server = ThreadExecutor(threads: 2, name: "cccdkit-relay-soak")

    @Test("soak: 200 relay sessions at once against emulated chips, 80 ms round trips: every report genuine")
    func soakRelay200Sessions() async throws {
        let relay = try await InProcessRelay(
            configure: { $0.sessionTimeout = 120; $0.answerTimeout = 30 }, executor: Self.server)
        let image = RelayFixture.prepared.image
        let started = Date()
        let (url, tokens) = (relay.url, relay.tokens)
        let sessions = await Task(executorPreference: InProcessRelay.clients) {
            await RelayLoad.run(url: url, count: 200, tokens: tokens, key: .can(SampleCard.can), link: .init(roundTrip: 0.08)) {
                try EmulatedChip(image: image)
            }
        }.value
        let wall = Date().timeIntervalSince(started)
        #expect(sessions.count == 200)
        let failed = sessions.filter { !$0.genuine }
        #expect(failed.isEmpty, "\(failed.count) not genuine, e.g. \(failed.first?.problem ?? "")")
        let seconds = sessions.map(\.seconds)
        print(
            "200 concurrent relay sessions at 80 ms: all done in \(String(format: "%.1f", wall)) s; p50 \(String(format: "%.2f", RelayLoad.percentile(seconds, 50))) s, p99 \(String(format: "%.2f", RelayLoad.percentile(seconds, 99))) s"
        )
        let rows = try await relay.verifier.audit.rows(limit: 1000)
        #expect(rows.filter { $0.outcome == "genuine" }.count == 200)
    }
}

/// Raw relay conversations (hostile input): sends `messages`, returns everything the server sent.
enum RawRelay {
    static func exchange(url: String, messages: [String]) async throws -> String {
        try await RelayClient.exchange(url: url, messages: messages).joined(separator: "\n")
    }
}
