import CardEmulator
import CardFixtures
import ChipImage
import Desk
import Foundation
import LDS
import TestSupport
import Testing
import Verification

/// Readers with emulated chips in them, for the desk's routes in-process (no pcscd): the test puts a card in a
/// reader or takes it out; each connection is a fresh chip from the card's image (a reset, as PC/SC gives).
final class EmulatedReaders: DeskReaderSource, @unchecked Sendable {
    private let lock = NSLock()
    private var slots: [(name: String, card: CardImage?)]

    init(_ names: [String]) { slots = names.map { ($0, nil) } }

    func insert(_ card: CardImage, in reader: String) {
        lock.withLock { slots = slots.map { $0.name == reader ? ($0.name, card) : $0 } }
    }

    func remove(from reader: String) {
        lock.withLock { slots = slots.map { $0.name == reader ? ($0.name, nil) : $0 } }
    }

    func readerStates() throws -> [(name: String, cardPresent: Bool)] {
        lock.withLock { slots.map { ($0.name, $0.card != nil) } }
    }

    func connect(reader: String) throws(DeskError) -> DeskCardConnection {
        let found = lock.withLock { () -> (known: Bool, card: CardImage?) in
            let slot = slots.first { $0.name == reader }
            return (slot != nil, slot?.card ?? nil)
        }
        guard found.known else { throw DeskError(.noReader, "no reader \(reader)") }
        guard let card = found.card else { throw DeskError(.cardRemoved, "no card in \(reader)") }
        do {
            return DeskCardConnection(transport: try EmulatedChip(image: card)) {}
        } catch {
            throw DeskError(.cardError, "\(error)")
        }
    }

    func deskError(_ error: any Error) -> DeskError? { nil }
}

/// The desk's routes, in-process: a DeskServer on emulated readers, asked over a socket as desk software asks it.
@Suite("The desk's routes in-process (DeskServer on emulated readers, no pcscd)")
struct DeskRouteTests {
    static let readers = ["Desk A", "Desk B"]

    /// A desk with `card` (the JP2 sample card, signed by a fresh PKI the desk trusts) in "Desk A".
    func withDesk(lifetime: TimeInterval = 60, _ body: (InProcessDesk, EmulatedReaders, JP2Card) throws -> Void)
        async throws
    {
        let card = try JP2Card.make()
        defer { card.remove() }
        let image = try CardImage(json: Data(contentsOf: URL(fileURLWithPath: card.card)))
        let source = EmulatedReaders(Self.readers)
        source.insert(image, in: "Desk A")
        var configuration = CardDesk.Configuration(
            trust: try TrustStore.load(paths: [card.csca]), reportLifetime: lifetime)
        configuration.imageBounds = .standard
        let desk = try await InProcessDesk(source: source, configuration: configuration)
        defer { desk.stop() }
        // The server runs on threads of its own (InProcessDesk): this blocking client may hold the test's.
        try body(desk, source, card)
    }

    func ask(_ desk: InProcessDesk, _ method: String, _ path: String, json: String? = nil, token: Bool = true) throws
        -> RawHTTP.Answer
    {
        let c = try RawHTTP(port: desk.port)
        var head = "\(method) \(path) HTTP/1.1\r\nHost: 127.0.0.1:\(desk.port)\r\n"
        if token { head += "Authorization: Bearer \(desk.token)\r\n" }
        if let json {
            head += "Content-Type: application/json\r\nContent-Length: \(json.utf8.count)\r\n\r\n\(json)"
        } else {
            head += "\r\n"
        }
        c.send(head)
        return c.answer(timeout: 60)
    }

    /// Waits until `GET /v1/readers` says `reader` holds a card (or not).
    func waitFor(_ desk: InProcessDesk, _ reader: String, card: Bool) throws {
        let deadline = Date().addingTimeInterval(10)
        while Date() < deadline {
            let list = try ask(desk, "GET", "/v1/readers").json?["readers"] as? [[String: Any]] ?? []
            if list.contains(where: { $0["name"] as? String == reader && $0["cardPresent"] as? Bool == card }) {
                return
            }
            Thread.sleep(forTimeInterval: 0.1)
        }
        Issue.record("\(reader) never showed cardPresent \(card)")
    }

    @Test("Readers, a read by ID number and by QR, the stored report and its portrait, a wrong key, an unknown reader, no card, no token")
    func routes() async throws {
        try await withDesk { desk, source, _ in
            try waitFor(desk, "Desk A", card: true)
            let readers = try ask(desk, "GET", "/v1/readers")
            #expect(readers.status == 200)
            let list = readers.json?["readers"] as? [[String: Any]] ?? []
            #expect(list.compactMap { $0["name"] as? String } == Self.readers)
            #expect(list.first { $0["name"] as? String == "Desk B" }?["cardPresent"] as? Bool == false)

            let read = try ask(desk, "POST", "/v1/read", json: #"{"idNumber":"\#(JP2Card.idNumber)","reader":"Desk A"}"#)
            #expect(read.status == 200, "\(read)")
            let holder = read.json?["holder"] as? [String: Any]
            #expect(holder?["fullName"] as? String == JP2Card.fullName)
            #expect(read.json?["genuine"] as? Bool == true, "\(read.body)")
            #expect(read.json?["reader"] as? String == "Desk A")
            let id = try #require(read.json?["readId"] as? String)
            let portraitURL = try #require(read.json?["portraitURL"] as? String, "\(read.body)")
            let portrait = try ask(desk, "GET", portraitURL)
            #expect(portrait.status == 200 && portrait.headers["content-type"]?.hasPrefix("image/") == true)
            #expect(try ask(desk, "GET", "/v1/reads/\(id)").json?["readId"] as? String == id)
            #expect(try ask(desk, "GET", "/v1/reads/latest").json?["readId"] as? String == id)
            #expect(try ask(desk, "GET", "/v1/reads/nonesuch").code == "notFound")

            let qr = try ask(
                desk, "POST", "/v1/read",
                json: String(
                    decoding: try JSONSerialization.data(withJSONObject: ["qr": JP2Card.qrText]),
                    as: UTF8.self))
            #expect(qr.status == 200 && qr.json?["reader"] as? String == "Desk A", "\(qr)")

            let wrong = try ask(desk, "POST", "/v1/read", json: #"{"can":"123456","reader":"Desk A"}"#)
            #expect(wrong.status == 422 && wrong.code == "accessDenied", "\(wrong)")
            let unknown = try ask(desk, "POST", "/v1/read", json: #"{"can":"123456","reader":"Desk Z"}"#)
            #expect(unknown.status == 404 && unknown.code == "unknownReader", "\(unknown)")
            let empty = try ask(desk, "POST", "/v1/read", json: #"{"can":"123456","reader":"Desk B","wait":0}"#)
            #expect(empty.status == 504 && empty.code == "noCard", "\(empty)")
            let noToken = try ask(desk, "GET", "/v1/readers", token: false)
            #expect(noToken.status == 401 && noToken.code == "unauthorized", "\(noToken)")
            let badKey = try ask(desk, "POST", "/v1/read", json: #"{"reader":"Desk A"}"#)
            #expect(badKey.status == 400 && badKey.code == "badRequest", "\(badKey)")

            // The card leaves: the latest report is gone; the stored one by id stays until its lifetime ends.
            source.remove(from: "Desk A")
            try waitFor(desk, "Desk A", card: false)
            #expect(try ask(desk, "GET", "/v1/reads/latest").status == 404)
            #expect(try ask(desk, "GET", "/v1/reads/\(id)").status == 200)
        }
    }

    @Test("A report's lifetime: erased from memory when it ends (the report and its portrait 404)")
    func lifetime() async throws {
        try await withDesk(lifetime: 1) { desk, _, _ in
            try waitFor(desk, "Desk A", card: true)
            let read = try ask(desk, "POST", "/v1/read", json: #"{"idNumber":"\#(JP2Card.idNumber)"}"#)
            #expect(read.status == 200, "\(read)")
            let id = try #require(read.json?["readId"] as? String)
            Thread.sleep(forTimeInterval: 2.5)
            #expect(try ask(desk, "GET", "/v1/reads/\(id)").code == "notFound")
            #expect(try ask(desk, "GET", "/v1/reads/\(id)/portrait").code == "notFound")
            #expect(try ask(desk, "GET", "/v1/reads/latest").status == 404)
        }
    }

    @Test("No reader named, two cards: the key opens the second one; a key that opens none is refused naming both")
    func anyReader() async throws {
        try await withDesk { desk, source, card in
            // Another citizen's card in the first reader tried.
            let other = try SampleCards.image(security: .bacOnly)
            let image = try CardImage(json: Data(contentsOf: URL(fileURLWithPath: card.card)))
            source.remove(from: "Desk A")
            source.insert(other, in: "Desk A")
            source.insert(image, in: "Desk B")
            try waitFor(desk, "Desk B", card: true)
            let read = try ask(desk, "POST", "/v1/read", json: #"{"idNumber":"\#(JP2Card.idNumber)"}"#)
            #expect(read.status == 200 && read.json?["reader"] as? String == "Desk B", "\(read)")
            let none = try ask(desk, "POST", "/v1/read", json: #"{"can":"999999","wait":1}"#)
            #expect(none.status == 422 && none.code == "accessDenied", "\(none)")
            #expect(none.body.contains("Desk A") && none.body.contains("Desk B"), "\(none.body)")
        }
    }
}
