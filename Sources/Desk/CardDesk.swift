import EAC
import CardCore
// The request types and the edge's checks live in DeskProtocol (pure, fuzzed); a desk user imports Desk alone.
@_exported import DeskProtocol
import ChipAccess
import Foundation
import LDS
import PCSC
import Reader
import Verification

extension DeskReadRequest {
    public func accessKey() throws(DeskKeyError) -> AccessKey {
        try DeskKey.accessKey(
            can: can, idNumber: idNumber, qr: qr, mrz: mrz, documentNumber: documentNumber, dateOfBirth: dateOfBirth,
            dateOfExpiry: dateOfExpiry)
    }
}

/// What the service tells its listeners (`/v1/events`): a card inserted or removed, a read started, its steps, its
/// report ready (the report itself, as `POST /v1/read` answers it), or its failure.
public enum DeskEvent: Sendable {
    case cardInserted(reader: String)
    case cardRemoved(reader: String)
    case readStarted(reader: String, id: String)
    case readProgress(reader: String, id: String, step: String)
    case reportReady(reader: String, id: String, report: CardReport)
    case readFailed(reader: String, id: String, error: DeskError)
    /// A report is no longer to be shown: its card left the reader (`cardRemoved`) or its lifetime ended
    /// (`expired`). Pages clear it.
    case reportCleared(reader: String, id: String, reason: String)
    /// Every 15 s, so that a listener that went away is noticed and proxies keep the stream open.
    case heartbeat

    public var name: String {
        switch self {
        case .cardInserted: return "cardInserted"
        case .cardRemoved: return "cardRemoved"
        case .readStarted: return "readStarted"
        case .readProgress: return "readProgress"
        case .reportReady: return "reportReady"
        case .readFailed: return "readFailed"
        case .reportCleared: return "reportCleared"
        case .heartbeat: return "heartbeat"
        }
    }
}

/// Who asked, for the audit log: the token's id (never the token) and the browser origin, if any.
public struct Requester: Sendable {
    public var tokenID: String
    public var origin: String?
    public init(tokenID: String, origin: String?) {
        self.tokenID = tokenID
        self.origin = origin
    }
}

/// A reader as the desk sees it.
public struct DeskReader: Codable, Sendable, Hashable {
    public var name: String
    public var cardPresent: Bool
    /// "empty", "card" or "reading".
    public var state: String
}

/// A card connected for one read: its transport, and how to end the connection.
public struct DeskCardConnection {
    public let transport: any CardTransport
    public let disconnect: () -> Void

    public init(transport: any CardTransport, disconnect: @escaping () -> Void) {
        self.transport = transport
        self.disconnect = disconnect
    }
}

/// Where the desk's cards come from: the PC/SC readers (`PCSCReaderSource`, the service's), or anything else that
/// can list readers and hand over a card (an emulated chip, for the desk's routes tested in-process).
public protocol DeskReaderSource: Sendable {
    /// Every reader, in the order the desk should try them, and whether it holds a card. Throws when the reader
    /// service itself is away (the desk says so and keeps asking).
    func readerStates() throws -> [(name: String, cardPresent: Bool)]
    /// Connects to the card in `reader`, reset first (the desk cannot know what another program left on it). A
    /// card that is not there is `cardRemoved`; a reader that is not there, `noReader`.
    func connect(reader: String) throws(DeskError) -> DeskCardConnection
    /// A failure of this source's link during a read, in the desk's terms (nil: not one of this source's).
    func deskError(_ error: any Error) -> DeskError?
}

/// The PC/SC readers of this machine (pcscd).
public final class PCSCReaderSource: DeskReaderSource, @unchecked Sendable {
    private let lock = NSLock()
    /// The watch's context, kept between polls (made again after a failure: pcscd restarted).
    private var context: PCSCContext?

    public init() {}

    public func readerStates() throws -> [(name: String, cardPresent: Bool)] {
        try lock.withLock {
            let context = try self.context ?? PCSCContext()
            let states: [PCSCContext.ReaderState]
            do {
                states = try context.states()
            } catch {
                // No reader at all is an answer, not an outage.
                guard (error as? PCSCError)?.code == .noReader else {
                    self.context = nil
                    throw error
                }
                states = []
            }
            self.context = context
            return states.map { ($0.reader, $0.cardPresent) }
        }
    }

    public func connect(reader: String) throws(DeskError) -> DeskCardConnection {
        do {
            let context = try PCSCContext()
            let card = try context.connect(reader: reader, reset: true)
            return DeskCardConnection(transport: card.isT1 ? card : T0ResponseHandling(card)) {
                withExtendedLifetime(context) { card.disconnect() }
            }
        } catch {
            throw Self.deskError(error)
        }
    }

    public func deskError(_ error: any Error) -> DeskError? {
        (error as? PCSCError).map(Self.deskError)
    }

    static func deskError(_ error: PCSCError) -> DeskError {
        switch error.code {
        case .noService, .noReader, .unknownReader: return DeskError(.noReader, "\(error)")
        case .noCard, .cardRemoved, .timeout: return DeskError(.cardRemoved, "the card left the reader: \(error)")
        default: return DeskError(.cardError, "\(error)")
        }
    }
}

/// The desk: watches every PC/SC reader, reads cards with the keys desks supply, keeps each report in memory for
/// `reportLifetime` seconds (then erases it), tells listeners what happens, and writes the audit log.
public final class CardDesk: @unchecked Sendable {
    public struct Configuration: Sendable {
        public var trust: TrustStore?
        /// Seconds a report (and its portrait) stays available; then it is erased from memory.
        public var reportLifetime: TimeInterval = 120
        public var maxFileSize = ReadOptions.defaultMaxFileSize
        /// An inspection system: Terminal Authentication runs and DG3 is read (the report gives its size; the
        /// desk never serves fingerprint images).
        public var terminal: TerminalCredentials?
        /// How large a portrait may be before it is decoded (it is converted for the page once per read).
        public var imageBounds = ImageBounds.standard
        public init(trust: TrustStore? = nil, reportLifetime: TimeInterval = 120) {
            self.trust = trust
            self.reportLifetime = reportLifetime
        }
    }

    public struct StoredRead: Sendable {
        public var id: String
        public var reader: String
        public var report: CardReport
        public var expires: Date
        public var readAt = Date()
        /// The card left its reader: the report is kept (by id) until it expires, but no longer the latest.
        public var cardLeft = false
    }

    let configuration: Configuration
    let audit: AuditLog?
    let source: any DeskReaderSource
    private let lock = NSLock()
    private var readers: [String: DeskReader] = [:]
    private var order: [String] = []
    private var reads: [String: StoredRead] = [:]
    private var readOrder: [String] = []
    private var listeners: [UUID: AsyncStream<DeskEvent>.Continuation] = [:]
    private var pcscProblem: String? = "the reader watch has not started"
    /// Requests in progress that gave a request id, and those of them cancelled (only a request in progress can be
    /// cancelled: ids nobody waits on are not kept).
    private var inProgress: Set<String> = []
    private var cancelled: Set<String> = []
    private var stopped = false

    public init(configuration: Configuration, audit: AuditLog?, source: any DeskReaderSource = PCSCReaderSource()) {
        self.configuration = configuration
        self.audit = audit
        self.source = source
    }

    // MARK: Watching readers

    /// Starts the reader watch (a thread polling the PC/SC resource manager every 100 ms) and report expiry.
    public func start() {
        let thread = Thread { [self] in watch() }
        thread.name = "cccd-desk-watch"
        thread.start()
    }

    public func stop() { lock.withLock { stopped = true } }

    private func watch() {
        var lastBeat = Date()
        while !lock.withLock({ stopped }) {
            expire()
            if Date().timeIntervalSince(lastBeat) >= 15 {
                lastBeat = Date()
                publish(.heartbeat)
            }
            do {
                update(try source.readerStates().map { ReaderState(reader: $0.name, cardPresent: $0.cardPresent) })
                lock.withLock { pcscProblem = nil }
                Thread.sleep(forTimeInterval: 0.1)
            } catch {
                lock.withLock { pcscProblem = "no PC/SC service: \(error)" }
                update([])
                Thread.sleep(forTimeInterval: 1)
            }
        }
    }

    private struct ReaderState {
        var reader: String
        var cardPresent: Bool
    }

    private func update(_ states: [ReaderState]) {
        var events: [DeskEvent] = []
        lock.withLock {
            let names = Set(states.map(\.reader))
            for gone in readers.keys where !names.contains(gone) {
                if readers[gone]?.cardPresent == true { events.append(.cardRemoved(reader: gone)) }
                readers[gone] = nil
                for (id, r) in reads where r.reader == gone && !r.cardLeft {
                    reads[id]?.cardLeft = true
                    events.append(.reportCleared(reader: gone, id: id, reason: "cardRemoved"))
                }
            }
            for s in states {
                let old = readers[s.reader]
                if old?.cardPresent != true && s.cardPresent { events.append(.cardInserted(reader: s.reader)) }
                if old?.cardPresent == true && !s.cardPresent { events.append(.cardRemoved(reader: s.reader)) }
                // The card of a report left: nobody may see its holder any more (the next patient is at the desk).
                if !s.cardPresent {
                    for (id, r) in reads where r.reader == s.reader && !r.cardLeft {
                        reads[id]?.cardLeft = true
                        events.append(.reportCleared(reader: s.reader, id: id, reason: "cardRemoved"))
                    }
                }
                let busy = old?.state == "reading"
                readers[s.reader] = DeskReader(
                    name: s.reader, cardPresent: s.cardPresent,
                    state: busy ? "reading" : s.cardPresent ? "card" : "empty")
            }
            order = states.map(\.reader)
        }
        for e in events { publish(e) }
    }

    /// The readers, in the resource manager's order; throws `noReader` when PC/SC itself is unavailable.
    public func readerList() throws(DeskError) -> [DeskReader] {
        let (problem, list) = lock.withLock { (pcscProblem, order.compactMap { readers[$0] }) }
        if let problem, list.isEmpty { throw DeskError(.noReader, problem) }
        return list
    }

    // MARK: Events

    /// A stream of everything that happens from now on; it ends when the listener goes.
    public func events() -> AsyncStream<DeskEvent> {
        let id = UUID()
        let (stream, continuation) = AsyncStream<DeskEvent>.makeStream(bufferingPolicy: .bufferingNewest(256))
        continuation.onTermination = { [weak self] _ in
            guard let self else { return }
            _ = self.lock.withLock { self.listeners.removeValue(forKey: id) }
        }
        lock.withLock { listeners[id] = continuation }
        return stream
    }

    func publish(_ event: DeskEvent) {
        let targets = lock.withLock { Array(listeners.values) }
        for t in targets { t.yield(event) }
    }

    // MARK: Reports

    public func storedRead(id: String) -> StoredRead? {
        lock.withLock {
            guard let r = reads[id], r.expires > Date() else { return nil }
            return r
        }
    }

    /// The latest report whose card is still in its reader (a page opened now shows nobody who has left).
    public func latestRead() -> StoredRead? {
        lock.withLock {
            guard let id = readOrder.last, let r = reads[id], r.expires > Date(), !r.cardLeft else { return nil }
            return r
        }
    }

    /// Erases the reports whose time is up, and tells the pages.
    func expire() {
        let now = Date()
        var events: [DeskEvent] = []
        lock.withLock {
            for (id, r) in reads where r.expires <= now {
                reads[id] = nil
                if !r.cardLeft { events.append(.reportCleared(reader: r.reader, id: id, reason: "expired")) }
            }
            readOrder.removeAll { reads[$0] == nil }
        }
        for e in events { publish(e) }
    }

    /// Cancels a read still waiting for a card (its request id); true when one was waiting.
    @discardableResult
    public func cancel(requestId: String) -> Bool {
        lock.withLock { inProgress.contains(requestId) && cancelled.insert(requestId).inserted }
    }

    // MARK: Reading

    /// Reads the card in the request's reader (or any reader holding a card), waiting for one to be inserted.
    public func read(_ request: DeskReadRequest, by requester: Requester) async throws(DeskError) -> StoredRead {
        let key: AccessKey
        do { key = try request.accessKey() } catch {
            audit?.record(requester, reader: request.reader, outcome: "refused: \(DeskError.Code.badRequest.rawValue)")
            throw DeskError(.badRequest, "\(error)")
        }
        let fields = request.fields ?? "all"
        guard fields == "all" || fields == "basic" else {
            throw DeskError(.badRequest, "fields must be \"basic\" or \"all\"")
        }
        let wait = min(max(request.wait ?? 30, 0), 300)
        let deadline = Date().addingTimeInterval(wait)
        var readOptions = ReadOptions(dataGroups: fields == "basic" ? [1, 13] : nil, trust: configuration.trust)
        readOptions.maxFileSize = configuration.maxFileSize
        readOptions.terminal = configuration.terminal
        let options = readOptions
        let bounds = configuration.imageBounds
        let id = UUID().uuidString.lowercased()
        var reader: String
        var result: Result<CardReport, DeskError>
        // Any reader: the readers holding a card are tried in turn until the key opens one (two patients' cards
        // on two readers: the key says which is meant).
        var refused: [String] = []
        if let requestId = request.requestId { _ = lock.withLock { inProgress.insert(requestId) } }
        defer {
            if let requestId = request.requestId {
                lock.withLock {
                    inProgress.remove(requestId)
                    cancelled.remove(requestId)
                }
            }
        }
        while true {
            do {
                reader = try await claimReader(
                    request.reader, wait: wait, until: deadline, excluding: Set(refused), requestId: request.requestId)
            } catch {
                if !refused.isEmpty, error.code == .noCard {
                    let denied = DeskError(
                        .accessDenied,
                        "the key opened none of the cards present (tried \(refused.map { "\"\($0)\"" }.joined(separator: ", ")))"
                    )
                    audit?.record(requester, reader: nil, outcome: "error: \(denied.code.rawValue)")
                    publish(.readFailed(reader: refused.last ?? "", id: id, error: denied))
                    throw denied
                }
                audit?.record(requester, reader: request.reader, outcome: "error: \(error.code.rawValue)")
                throw error
            }
            publish(.readStarted(reader: reader, id: id))
            let chosen = reader
            let (outcome, connected) = await withCheckedContinuation { continuation in
                let thread = Thread { [self] in
                    continuation.resume(
                        returning: Self.readNow(
                            source, reader: chosen, key: key, options: options, bounds: bounds
                        ) { step in
                            self.publish(.readProgress(reader: chosen, id: id, step: "\(step)"))
                        })
                }
                thread.name = "cccd-desk-read"
                thread.start()
            }
            result = outcome
            lock.withLock {
                if var r = readers[chosen], r.state == "reading" {
                    // The card had already left (the watch had not seen it yet): the reader is empty.
                    if !connected { r.cardPresent = false }
                    r.state = r.cardPresent ? "card" : "empty"
                    readers[chosen] = r
                }
            }
            // Gone before the first command: wait for the next card, as when none was there.
            if !connected, Date() < deadline { continue }
            if request.reader == nil, case .failure(let error) = outcome, error.code == .accessDenied {
                refused.append(chosen)
                // Another card is present now: try it at once (no wait for a card that is already there).
                if lock.withLock({ readers.values.contains { $0.state == "card" && !refused.contains($0.name) } }) {
                    continue
                }
                if refused.count > 1 {
                    result = .failure(
                        DeskError(
                            .accessDenied,
                            "the key opened none of the cards present (tried \(refused.map { "\"\($0)\"" }.joined(separator: ", ")))"
                        ))
                }
            }
            break
        }
        switch result {
        case .success(var report):
            let now = Date()
            let expires = now.addingTimeInterval(configuration.reportLifetime)
            report.reader = reader
            report.readAt = AuditLog.zoned(now)
            report.expiresAt = AuditLog.zoned(expires)
            let stored = StoredRead(id: id, reader: reader, report: report, expires: expires, readAt: now)
            lock.withLock {
                reads[id] = stored
                readOrder.append(id)
            }
            audit?.record(requester, reader: reader, report: report)
            publish(.reportReady(reader: reader, id: id, report: report))
            return stored
        case .failure(let error):
            audit?.record(requester, reader: reader, outcome: "error: \(error.code.rawValue)")
            publish(.readFailed(reader: reader, id: id, error: error))
            throw error
        }
    }

    /// Waits until the reader (or any reader) holds a card nobody is reading, and marks it busy.
    private func claimReader(
        _ wanted: String?, wait: TimeInterval, until deadline: Date, excluding: Set<String> = [],
        requestId: String? = nil
    ) async throws(DeskError) -> String {
        while true {
            let outcome: Result<String?, DeskError> = lock.withLock {
                if let requestId, cancelled.contains(requestId) {
                    return .failure(DeskError(.cancelled, "the read was cancelled before a card came"))
                }
                if let pcscProblem, readers.isEmpty { return .failure(DeskError(.noReader, pcscProblem)) }
                if let wanted, readers[wanted] == nil, !order.isEmpty {
                    return .failure(
                        DeskError(.unknownReader, "no reader named \"\(wanted)\" (GET /v1/readers lists them)"))
                }
                let candidates = wanted.map { [$0] } ?? order
                for name in candidates where readers[name]?.state == "card" && !excluding.contains(name) {
                    readers[name]?.state = "reading"
                    return .success(name)
                }
                return .success(nil)
            }
            switch outcome {
            case .failure(let error): throw error
            case .success(let name?): return name
            case .success(nil):
                guard Date() < deadline else {
                    throw DeskError(
                        .noCard,
                        wanted.map { "no card in \($0) within \(Int(wait)) s" }
                            ?? "no card in any reader within \(Int(wait)) s")
                }
                try? await Task.sleep(nanoseconds: 50_000_000)
            }
        }
    }

    /// One read from the source, on the calling thread; `connected` false when the card was not there to connect
    /// to.
    static func readNow(
        _ source: any DeskReaderSource, reader: String, key: AccessKey, options: ReadOptions,
        bounds: ImageBounds = .standard, progress: @escaping @Sendable (ReadStep) -> Void
    ) -> (Result<CardReport, DeskError>, connected: Bool) {
        let connection: DeskCardConnection
        do {
            connection = try source.connect(reader: reader)
        } catch {
            return (.failure(error), error.code != .cardRemoved)
        }
        defer { connection.disconnect() }
        do {
            let session = ReaderSession(transport: connection.transport)
            session.progress = progress
            let result = try session.readCard(key, options: options)
            // The portrait is converted for the page here, once per read (GETs serve these bytes).
            return (.success(CardReport(result, imageBounds: bounds, convertPortrait: true)), true)
        } catch let error as ReaderError {
            switch error.code {
            case .accessDenied: return (.failure(DeskError(.accessDenied, "the card refused the key: \(error)")), true)
            case .cardRemoved: return (.failure(DeskError(.cardRemoved, "the card left the reader: \(error)")), true)
            case .noReader: return (.failure(DeskError(.noReader, "\(error)")), true)
            default: return (.failure(DeskError(.cardError, "\(error)")), true)
            }
        } catch {
            return (.failure(source.deskError(error) ?? DeskError(.cardError, "\(error)")), true)
        }
    }
}
