import CardCore
import CardCrypto
import ChipAccess
import EAC
import Foundation
import RelayWire
import LDS
import Logging
import Reader
import Verification

/// The bank's verifier: one read per connection, run by the server itself over APDUs the phone relays. PACE, Chip
/// and Active Authentication and every file read happen here (`ReaderSession` over a `RelayTransport`), so the
/// secure channel ends on the server, the relay never holds a session key, and the Active Authentication challenge
/// is the server's own. The report comes back signed (`ReportSigner`).
///
/// Stateless between sessions: everything a session needs is in its connection and its token, so instances behind a
/// load balancer share only the token secret, the report key and the audit store.
public final class RelayVerifier: Sendable {
    public struct Configuration: Sendable {
        /// CSCA certificates, folders or master lists: without them no report is genuine.
        public var trust: TrustStore?
        /// An inspection system for EAC Terminal Authentication (DG3), if the bank has one.
        public var terminal: TerminalCredentials?
        public var maxFileSize = ReadOptions.defaultMaxFileSize
        /// Caps a token can lower, never raise: a full Vietnamese read is 17 APDUs and about 30 KB.
        public var maxAPDUs = 200
        public var maxBytes = 2 << 20
        public var helloTimeout: TimeInterval = 10
        public var answerTimeout: TimeInterval = 10
        public var sessionTimeout: TimeInterval = 60
        /// Sessions open at once on this instance; more are refused `busy` (the load balancer tries another).
        public var maxSessions = 500
        /// Sessions a client (the token's `client`) may start per minute.
        public var sessionsPerClientPerMinute = 12
        /// The report's issuer (`iss`): this service's name.
        public var issuer = "cccd-relay"
        /// Benchmarks only: read as another reader would (its largest READ BINARY, EF.COM first, each file
        /// selected and its header read first), to compare strategies on the same link.
        public var imitatedReadLength: Int?
        public init(trust: TrustStore? = nil) { self.trust = trust }
    }

    public let configuration: Configuration
    public let tokens: RelayTokenIssuer
    public let signer: ReportSigner
    public let audit: any RelayAuditStore
    public let metrics: RelayMetrics
    let limiter: RelayRateLimiter
    let openSessions = Locked(0)
    static let logger = Logger(label: "cccd.relay")

    public init(
        configuration: Configuration, tokens: RelayTokenIssuer, signer: ReportSigner,
        audit: any RelayAuditStore = RelayMemoryAudit(), metrics: RelayMetrics = RelayMetrics()
    ) {
        self.configuration = configuration
        self.tokens = tokens
        self.signer = signer
        self.audit = audit
        self.metrics = metrics
        limiter = RelayRateLimiter(perMinute: configuration.sessionsPerClientPerMinute)
    }

    /// How a session ended.
    public enum Outcome: Sendable {
        /// A signed report was sent (genuine or not).
        case report(sid: String, genuine: Bool, verdict: String, jws: String)
        /// An error was sent instead of a report.
        case error(RelayError)

        public var closeCode: UInt16 {
            switch self {
            case .report: return 1000
            case .error(let e): return e.closeCode
            }
        }
    }

    /// Runs one session on a connection: `messages` yields the client's text messages as bytes (nil at the end),
    /// `send` writes one text message. Returns after the last message was written.
    public func session(
        messages: @escaping @Sendable () async throws -> [UInt8]?, send: @escaping @Sendable (String) async throws -> Void
    ) async -> Outcome {
        let (outbound, out) = AsyncStream<String>.makeStream()
        // Structured: the writer (and the reading task below) run where the connection's task runs (a server
        // under test keeps them off the shared pool), and none outlives the session.
        return await withTaskGroup(of: Void.self) { group in
            group.addTask {
                for await text in outbound { try? await send(text) }
            }
            let outcome = await run(messages: messages, out: out)
            switch outcome {
            case .report(let sid, let genuine, let verdict, let jws):
                out.yield(RelayServerMessage.result(sid: sid, genuine: genuine, verdict: verdict, report: jws).json())
            case .error(let error):
                out.yield(RelayServerMessage.error(error).json())
            }
            out.finish()
            await group.waitForAll()
            return outcome
        }
    }

    private func run(
        messages: @escaping @Sendable () async throws -> [UInt8]?, out: AsyncStream<String>.Continuation
    ) async -> Outcome {
        let started = Date()
        // 1. The hello, in time.
        let hello: RelayHello
        do {
            hello = try await withTimeout(seconds: configuration.helloTimeout) {
                guard let bytes = try await messages() else {
                    throw RelayError(.cardRemoved, "the connection closed before the hello")
                }
                return try RelayHello(json: bytes)
            }
        } catch let error as RelayError {
            metrics.finished(outcome: error.code.rawValue, seconds: 0, apdus: 0, bytes: 0, roundTrips: [])
            return .error(error)
        } catch {
            let e = RelayError(.timeout, "no hello within \(Int(configuration.helloTimeout)) s")
            metrics.finished(outcome: e.code.rawValue, seconds: 0, apdus: 0, bytes: 0, roundTrips: [])
            return .error(e)
        }
        // 2. The token, the key, the limits.
        let claims: RelayTokenClaims
        let key: AccessKey
        do {
            claims = try tokens.verify(hello.token)
            do {
                key = try DeskKey.accessKey(
                    can: hello.can, idNumber: hello.idNumber, qr: hello.qr, mrz: hello.mrz,
                    documentNumber: hello.documentNumber, dateOfBirth: hello.dateOfBirth, dateOfExpiry: hello.dateOfExpiry)
            } catch {
                throw RelayError(.badMessage, "hello: \(error)")
            }
            if let card = claims.card, !constantTimeEquals(Array(card.utf8), Array(tokens.cardBinding(key, sid: claims.sid).utf8)) {
                throw RelayError(.wrongCard, "the access key is not the one this token was issued for")
            }
            guard limiter.allow(claims.client) else {
                throw RelayError(
                    .rateLimited,
                    "client \(claims.client.prefix(64)) started \(configuration.sessionsPerClientPerMinute) sessions in the last minute")
            }
        } catch let error as RelayError {
            metrics.finished(outcome: error.code.rawValue, seconds: 0, apdus: 0, bytes: 0, roundTrips: [])
            return .error(error)
        } catch {
            return .error(RelayError(.badMessage, "\(error)"))
        }
        let admitted = openSessions.withLock { n -> Bool in
            guard n < configuration.maxSessions else { return false }
            n += 1
            return true
        }
        guard admitted else {
            let e = RelayError(.busy, "this instance has \(configuration.maxSessions) sessions open; try again")
            metrics.finished(outcome: e.code.rawValue, seconds: 0, apdus: 0, bytes: 0, roundTrips: [])
            return .error(e)
        }
        metrics.opened()
        defer {
            openSessions.withLock { $0 -= 1 }
            metrics.closed()
        }
        var row = RelayAuditRow(sid: claims.sid, client: claims.client, relay: hello.client, startedAt: started)
        do { try await audit.begin(row) } catch {
            metrics.finished(outcome: error.code.rawValue, seconds: 0, apdus: 0, bytes: 0, roundTrips: [])
            return .error(error)
        }

        // 3. The read, on its own thread; answers arrive from the connection's reading task.
        let limits = RelayTransport.Limits(
            maxAPDUs: min(claims.apdus ?? .max, configuration.maxAPDUs),
            maxBytes: min(claims.bytes ?? .max, configuration.maxBytes), answerTimeout: configuration.answerTimeout,
            deadline: started.addingTimeInterval(configuration.sessionTimeout))
        let transport = RelayTransport(
            capabilities: TransportCapabilities(atr: hello.atr, supportsExtendedLength: hello.extendedLength),
            limits: limits, send: { out.yield($0) })
        var options = ReadOptions(trust: configuration.trust)
        options.terminal = configuration.terminal
        options.maxFileSize = configuration.maxFileSize
        options.reopensBrokenChannel = false
        options.readsEFCOM = configuration.imitatedReadLength != nil
        let readOptions = options
        // The read on a thread of its own; the connection's answers delivered meanwhile by a sibling task, which
        // ends when the read does.
        let read: Result<ReadResult, ReaderError> = await withTaskGroup(of: Result<ReadResult, ReaderError>?.self) {
            group in
            group.addTask {
                do {
                    while let bytes = try await messages() {
                        switch try RelayClientMessage(json: bytes) {
                        case .answer(let answer): transport.deliver(answer)
                        case .abort(let reason): transport.end(RelayError(.cardRemoved, "the relay said: \(reason)"))
                        }
                    }
                    transport.end(RelayError(.cardRemoved, "the connection closed during the read"))
                } catch let error as RelayError {
                    transport.end(error)
                } catch {
                    transport.end(RelayError(.cardRemoved, "the connection failed during the read"))
                }
                return nil
            }
            group.addTask {
                await withCheckedContinuation { continuation in
                    let thread = Thread {
                        do {
                            let session = ReaderSession(transport: transport)
                            if let length = self.configuration.imitatedReadLength {
                                session.imitate(maxReadLength: length)
                            }
                            continuation.resume(returning: .success(try session.readCard(key, options: readOptions)))
                        } catch let error as ReaderError {
                            continuation.resume(returning: .failure(error))
                        } catch {
                            continuation.resume(returning: .failure(ReaderError(code: .protocolError, reason: "\(error)")))
                        }
                    }
                    thread.name = "cccd-relay-read"
                    thread.start()
                }
            }
            var outcome: Result<ReadResult, ReaderError> = .failure(ReaderError(code: .protocolError, reason: "no read"))
            for await finished in group {
                guard let finished else { continue }
                outcome = finished
                // The read is over: what the relay did wrong is settled; the reading task's own end is not a
                // failure of this session.
                _ = transport.close()
                group.cancelAll()
            }
            return outcome
        }
        let relayFailure = transport.close()
        let stats = transport.statistics
        let seconds = Date().timeIntervalSince(started)
        row.apdus = stats.apdus
        row.bytes = stats.bytes
        row.milliseconds = Int(seconds * 1000)
        row.endedAt = Date()

        // 4. The verdict: what the relay did wrong first, then what the read found.
        let outcome: Outcome
        let label: String
        if let failure = relayFailure, failure.code != .tampering {
            outcome = .error(failure)
            label = failure.code.rawValue
        } else {
            // Tampering first (the relay's own, or an answer that failed secure messaging); then the read's own
            // failure as its typed error; else the read's report.
            let report: CardReport
            switch read {
            case .success(let result):
                if let failure = relayFailure {
                    report = Self.tamperingReport(failure.message, stats: stats)
                } else if let broken = result.unreadable.values.first(where: { $0.contains("secure channel broke") }) {
                    report = Self.tamperingReport(
                        "an answer failed the session's secure messaging (\(broken))", stats: stats)
                } else {
                    report = CardReport(result)
                }
            case .failure(let error):
                if let failure = relayFailure {
                    report = Self.tamperingReport(failure.message, stats: stats)
                } else if error.code == .secureMessaging || error.reason.contains("authentication token is wrong") {
                    report = Self.tamperingReport(
                        "an answer failed the session's secure messaging: changed, replayed or reordered on the way, or a chip without the keys it claims (\(error.reason))",
                        stats: stats)
                } else {
                    let e =
                        error.code == .accessDenied
                        ? RelayError(.accessDenied, "the card refused the access key") : RelayError(.cardError, "\(error)")
                    await finish(&row, outcome: e.code.rawValue, seconds: seconds, stats: stats)
                    return .error(e)
                }
            }
            label = report.verdict == Self.tamperingVerdict ? "tampering" : report.authenticity.rawValue
            row.idNumber = report.holder.idNumber
            row.checks = report.checks.sorted { $0.key.rawValue < $1.key.rawValue }.map {
                "\($0.key.rawValue)=\($0.value.status.rawValue)"
            }.joined(separator: ",")
            do {
                let jws = try signer.sign(
                    payload(report: report, claims: claims, hello: hello, seconds: seconds, stats: stats))
                outcome = .report(sid: claims.sid, genuine: report.genuine, verdict: report.verdict, jws: jws)
            } catch {
                outcome = .error(error)
            }
        }
        await finish(&row, outcome: label, seconds: seconds, stats: stats)
        return outcome
    }

    static let tamperingVerdict = "NOT GENUINE: relay tampering"

    /// A report of nothing but why: the data that crossed a tampering relay is not shown.
    static func tamperingReport(_ reason: String, stats: (apdus: Int, bytes: Int, roundTrips: [Double])) -> CardReport {
        var report = CardReport(ReadResult())
        report.genuine = false
        report.valid = false
        report.authenticity = .notGenuine
        report.reasons = ["relay tampering: \(reason)"]
        report.verdict = tamperingVerdict
        report.exitCode = ExitStatus.verificationFailed.rawValue
        report.apdus = stats.apdus
        report.bytes = stats.bytes
        return report
    }

    private func finish(
        _ row: inout RelayAuditRow, outcome: String, seconds: Double, stats: (apdus: Int, bytes: Int, roundTrips: [Double])
    ) async {
        row.outcome = outcome
        await audit.finish(row)
        metrics.finished(
            outcome: outcome, seconds: seconds, apdus: stats.apdus, bytes: stats.bytes, roundTrips: stats.roundTrips)
        Self.logger.info(
            "relay session ended",
            metadata: [
                "sid": "\(row.sid)", "outcome": "\(outcome)", "apdus": "\(stats.apdus)",
                "ms": "\(Int(seconds * 1000))",
            ])
    }

    /// The signed payload: who and when, the relay's figures, the report (as `cccd read --json` gives it), and the
    /// portrait (DG2's first face, as stored on the chip) for the bank's face match.
    func payload(
        report: CardReport, claims: RelayTokenClaims, hello: RelayHello, seconds: Double,
        stats: (apdus: Int, bytes: Int, roundTrips: [Double])
    ) throws(RelayError) -> [UInt8] {
        let reportJSON: String
        do { reportJSON = String(decoding: try report.json(pretty: false), as: UTF8.self) } catch {
            throw RelayError(.unavailable, "the report did not encode: \(error)")
        }
        let sorted = stats.roundTrips.sorted()
        let median = sorted.isEmpty ? 0 : sorted[sorted.count / 2]
        var object: [String: RelayJSONValue] = [
            "iss": .string(configuration.issuer), "sid": .string(claims.sid), "client": .string(claims.client),
            "iat": .int(Int(Date().timeIntervalSince1970)), "report": .raw(reportJSON),
            "relay": .object([
                "apdus": .int(stats.apdus), "bytes": .int(stats.bytes), "milliseconds": .int(Int(seconds * 1000)),
                "medianRoundTripMilliseconds": .int(Int(median * 1000)),
                "software": .string(hello.client ?? ""),
            ]),
        ]
        if let face = report.portraitImage {
            object["portrait"] = .object([
                "mediaType": .string(face.mediaType), "width": .int(face.width), "height": .int(face.height),
                "data": .string(Data(face.original).base64EncodedString()),
            ])
        }
        return Array(RelayJSONValue.object(object).text.utf8)
    }
}

/// Sessions a client may start per minute (a sliding window per client; forgotten after a minute of quiet).
final class RelayRateLimiter: Sendable {
    let perMinute: Int
    let starts = Locked<[String: [Date]]>([:])

    init(perMinute: Int) { self.perMinute = perMinute }

    func allow(_ client: String, now: Date = Date()) -> Bool {
        starts.withLock { table in
            let since = now.addingTimeInterval(-60)
            if table.count > 10_000 { table = table.filter { $0.value.last.map { $0 > since } ?? false } }
            var recent = (table[client] ?? []).filter { $0 > since }
            guard recent.count < perMinute else {
                table[client] = recent
                return false
            }
            recent.append(now)
            table[client] = recent
            return true
        }
    }
}
