import CardCore
import Desk
import Foundation
import LDS
import PCSC
import Reader
import TestSupport
import Testing
import Yams

/// A JPEG 2000 portrait card made with the CLI (test PKI, the sample record with `Vectors/sample-portrait.jp2`).
struct JP2Card {
    let folder: String
    var card: String { folder + "/card.json" }
    var csca: String { folder + "/pki/csca.crt" }
    static let idNumber = "001090000000"
    static let fullName = "Nguyễn Văn A"

    static func make() throws -> JP2Card {
        let folder = NSTemporaryDirectory() + "cccdkit-jp2-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let pki = try CommandLineRunner.run(["pki", "init", "--out", folder + "/pki"])
        try #require(pki.status == 0, "\(pki.stderr)")
        let sample = VectorFile.directory + "/sample-card/record.json"
        var record = try #require(
            try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: sample))) as? [String: Any])
        record["portrait"] = VectorFile.directory + "/sample-portrait.jp2"
        record["fingerprints"] = [2, 7].map {
            ["position": $0, "image": VectorFile.directory + "/sample-card/finger-\($0).jp2"] as [String: Any]
        }
        try JSONSerialization.data(withJSONObject: record).write(to: URL(fileURLWithPath: folder + "/record.json"))
        let prepared = try CommandLineRunner.run([
            "prepare", "--record", folder + "/record.json", "--signer", folder + "/pki", "--out", folder + "/card.json",
        ])
        try #require(prepared.status == 0, "\(prepared.stderr)")
        return JP2Card(folder: folder)
    }

    func remove() { try? FileManager.default.removeItem(atPath: folder) }

    /// The card's QR text, as a scanner types it.
    static let qrText = "001090000000|012345678|Nguyễn Văn A|01011990|Nam|Số 1 Phố Tràng Tiền, Hà Nội|10042021"
}

/// Width and height from a PNG's IHDR chunk.
func pngDimensions(_ data: Data) -> (Int, Int)? {
    let b = [UInt8](data)
    guard b.count > 24, b[0..<8] == [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A],
        b[12..<16] == [0x49, 0x48, 0x44, 0x52]
    else { return nil }
    func u32(_ i: Int) -> Int { b[i..<i + 4].reduce(0) { $0 << 8 | Int($1) } }
    return (u32(16), u32(20))
}

@Suite("Desk keys and portraits: the QR text, the ID number, JPEG 2000 to PNG")
struct DeskKeyTests {
    @Test("The QR text as a scanner types it gives the CAN (the ID's last 6 digits); its fields are parsed")
    func qr() throws {
        let qr = try DeskKey.parseQR(JP2Card.qrText + "\r\n")
        #expect(qr.idNumber == "001090000000" && qr.oldIdNumber == "012345678" && qr.fullName == "Nguyễn Văn A")
        #expect(qr.dateOfBirth == "1990-01-01" && qr.dateOfIssue == "2021-04-10" && qr.sex == "Nam")
        guard case .can(let can) = try DeskKey.accessKey(qr: JP2Card.qrText) else {
            Issue.record("not a CAN")
            return
        }
        #expect(can == "000000")
        // Without an old ID (empty field), and with only the ID.
        #expect(try DeskKey.parseQR("001090000000||Nguyễn Văn A|01011990|Nam|x|10042021").oldIdNumber == nil)
        #expect(try DeskKey.parseQR("079203001234").idNumber == "079203001234")
    }

    @Test(
        "Keys a desk cannot use are refused in its terms, never echoing the key",
        arguments: [
            "12345|x", "0010900000001|a", "abc", "", "|001090000000", "00109000000a|x",
            "001090000000|a|b|c|d|e|f|g|h",
        ])
    func badQR(_ text: String) throws {
        #expect(throws: DeskKeyError.self) { try DeskKey.accessKey(qr: text) }
    }

    @Test("One key only; the ID number alone gives the CAN; MRZ fields take YYMMDD or ISO dates")
    func keys() throws {
        #expect(throws: DeskKeyError.self) { try DeskKey.accessKey() }
        #expect(throws: DeskKeyError.self) { try DeskKey.accessKey(can: "123456", idNumber: "001090000000") }
        #expect(throws: DeskKeyError.self) { try DeskKey.accessKey(idNumber: "12345") }
        #expect(throws: DeskKeyError.self) { try DeskKey.accessKey(can: "12a456") }
        guard case .can("000000") = try DeskKey.accessKey(idNumber: "001090000000") else {
            Issue.record("the ID number did not give its last 6 digits")
            return
        }
        let iso = try DeskKey.accessKey(
            documentNumber: "001090000000", dateOfBirth: "1990-01-01", dateOfExpiry: "2030-01-01")
        let short = try DeskKey.accessKey(documentNumber: "001090000000", dateOfBirth: "900101", dateOfExpiry: "300101")
        guard case .mrz(let a) = iso, case .mrz(let b) = short else {
            Issue.record("not MRZ keys")
            return
        }
        #expect(
            a.documentNumber == b.documentNumber && a.dateOfBirth == b.dateOfBirth && a.dateOfExpiry == b.dateOfExpiry)
        do {
            _ = try DeskKey.accessKey(can: "98x765")
        } catch {
            #expect(!"\(error)".contains("98x765"), "the key echoed in the error")
        }
    }

    @Test("cccd read --qr \"<QR text of the sample card>\" reads it over PACE-CAN, genuine")
    func readQR() throws {
        let r = try CommandLineRunner.run([
            "read", "--card", "Vectors/sample-card/card.json", "--qr", JP2Card.qrText, "--trust",
            "Vectors/sample-card/csca.crt", "--json",
        ])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.json?["accessControl"] as? String == "PACE-CAN")
        #expect(r.json?["genuine"] as? Bool == true)
        #expect((r.json?["holder"] as? [String: Any])?["idNumber"] as? String == "001090000000")
        // The ID number alone, likewise.
        let byID = try CommandLineRunner.run([
            "read", "--card", "Vectors/sample-card/card.json", "--id", "001090000000",
        ])
        #expect(byID.status == 8, "\(byID.stderr)")  // genuine signature, no --trust: signer unverified
        let bad = try CommandLineRunner.run(["read", "--card", "Vectors/sample-card/card.json", "--qr", "12345|x"])
        #expect(bad.status != 0 && bad.stderr.contains("12-digit ID number"), "\(bad.stderr)")
    }

    @Test(
        "A JPEG 2000 portrait card read with --out: portrait.jp2 as read, and portrait.png decoding to DG2's dimensions"
    )
    func jpeg2000Out() throws {
        let card = try JP2Card.make()
        defer { card.remove() }
        let out = card.folder + "/out"
        let r = try CommandLineRunner.run([
            "read", "--card", card.card, "--id", JP2Card.idNumber, "--trust", card.csca, "--out", out, "--json",
        ])
        #expect(r.status == 0, "\(r.stderr)")
        let portrait = try #require(r.json?["portrait"] as? [String: Any])
        #expect(portrait["format"] as? String == "JPEG2000")
        let dg2 = try DataGroup2(bytes: [UInt8](Data(contentsOf: URL(fileURLWithPath: out + "/DG2.bin"))))
        let face = try #require(dg2.faces.first)
        #expect(portrait["width"] as? Int == face.width && portrait["height"] as? Int == face.height)
        let jp2 = try Data(contentsOf: URL(fileURLWithPath: out + "/portrait.jp2"))
        #expect([UInt8](jp2) == face.image)
        let png = try Data(contentsOf: URL(fileURLWithPath: out + "/portrait.png"))
        let size = try #require(pngDimensions(png))
        #expect(size == (face.width, face.height) && size == (240, 320))
        // The pixels are the picture's: the PNG is not blank (the portrait's dark hair and blue shirt are there).
        let decoded = try Portrait.png(fromJPEG2000: face.image)
        #expect(decoded.bytes == [UInt8](png))
    }

    @Test("On a terminal, cccd read shows the step it is in on standard error; in a pipe, nothing")
    func progressOnTerminal() throws {
        let binary = CommandLineRunner.root + "/.build/debug/cccd"
        let command = "\(binary) read --card Vectors/sample-card/card.json --can 000000 >/dev/null"
        // script(1) gives the command a terminal and copies what it shows (here standard error) to its output.
        let r = try CommandLineRunner.tool("/usr/bin/script", ["-qec", command, "/dev/null"])
        #expect(r.status == 8, "\(r.stdout) \(r.stderr)")  // no --trust: signer unverified
        for step in [
            "PACE-CAN…", "reading DG2", "Chip Authentication…", "Active Authentication…", "Passive Authentication…",
        ] {
            #expect(r.stdout.contains(step), "the terminal did not show \(step): \(r.stdout.debugDescription)")
        }
        let piped = try CommandLineRunner.run(["read", "--card", "Vectors/sample-card/card.json", "--can", "000000"])
        #expect(!piped.stderr.contains("PACE-CAN…"))
    }

    @Test("Hostile JPEG 2000 data gives a typed error, never a crash", arguments: [0, 1, 2, 3])
    func hostileJPEG2000(_ variant: Int) throws {
        let good = [UInt8](try Data(contentsOf: URL(fileURLWithPath: VectorFile.directory + "/sample-portrait.jp2")))
        var data: [UInt8]
        switch variant {
        case 0: data = Array(good.prefix(60))  // cut inside the header boxes
        case 1: data = [0xFF, 0x4F, 0xFF, 0x51] + [UInt8](repeating: 0xFF, count: 40)  // a J2K with a garbage SIZ
        case 2:
            data = good
            for i in stride(from: 200, to: data.count, by: 7) { data[i] ^= 0x5A }  // corrupted code blocks
        default: data = [0x89, 0x50, 0x4E, 0x47]  // not JPEG 2000 at all
        }
        do {
            let out = try Portrait.png(fromJPEG2000: data)
            // OpenJPEG may still decode a damaged code stream (it is error-resilient): then the size must hold.
            #expect(out.width == 240 && out.height == 320)
        } catch {
            #expect(!"\(error)".isEmpty)
        }
    }
}

/// `cccd serve` with the emulated card in a virtual reader (pcscd + vpcd), spoken to with curl.
final class DeskHarness: @unchecked Sendable {
    let work: String
    let port: Int
    let token: String
    let tokenFile: String
    let auditFile: String
    let server: ChildProcess
    var emulator: ChildProcess
    let card: JP2Card
    static let reader = PCSCReadTests.readerName

    struct Answer {
        var status: Int
        var headers: [String: String]
        var body: Data
        var json: [String: Any]? { (try? JSONSerialization.jsonObject(with: body)) as? [String: Any] }
    }

    init(card: JP2Card, lifetime: Int, allowOrigin: String) throws {
        self.card = card
        work = card.folder + "/desk-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
        let context = try PCSCContext()
        try #require(
            try context.readers().contains(Self.reader),
            "pcscd with vsmartcard-vpcd is not running; run the tests with `make test`")
        try context.waitForRemoval(reader: Self.reader, timeout: 15)
        let binary = CommandLineRunner.root + "/.build/debug/cccd"
        emulator = try ChildProcess(
            binary, ["emulate", "--card", card.card, "--vpcd", "localhost:\(PCSCReadTests.port)"])
        _ = try context.waitForCard(reader: Self.reader, timeout: 15)
        tokenFile = work + "/token"
        auditFile = work + "/audit.db"
        let log = work + "/serve.out"
        server = try ChildProcess(
            binary,
            [
                "serve", "--listen", "127.0.0.1:0", "--token-file", tokenFile, "--audit", auditFile, "--trust",
                card.csca, "--report-lifetime", "\(lifetime)", "--allow-origin", allowOrigin,
            ], stdout: log, stderr: work + "/serve.err")
        // "cccd desk listening on http://127.0.0.1:PORT/ (…)"
        var line = ""
        let deadline = Date().addingTimeInterval(20)
        while !line.contains("\n") && Date() < deadline && server.running {
            line = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
            Thread.sleep(forTimeInterval: 0.05)
        }
        let match = line.split(separator: " ").first { $0.hasPrefix("http://127.0.0.1:") }
        guard let match, let p = Int(match.dropFirst("http://127.0.0.1:".count).prefix { $0.isNumber }) else {
            let why = (try? String(contentsOfFile: work + "/serve.err", encoding: .utf8)) ?? ""
            server.stop()
            emulator.stop()
            throw HeadlessChromium.Failure(description: "cccd serve did not say where it listens: \(line) \(why)")
        }
        port = p
        token = try String(contentsOfFile: tokenFile, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// The card leaves the reader (the emulator stops).
    func removeCard() throws {
        emulator.stop()
        try PCSCContext().waitForRemoval(reader: Self.reader, timeout: 15)
    }

    /// The card comes back (a new emulator).
    func insertCard() throws {
        emulator = try ChildProcess(
            CommandLineRunner.root + "/.build/debug/cccd",
            ["emulate", "--card", card.card, "--vpcd", "localhost:\(PCSCReadTests.port)"])
    }

    func stop() {
        server.stop()
        emulator.stop()
        if let context = try? PCSCContext() { try? context.waitForRemoval(reader: Self.reader, timeout: 15) }
    }

    var base: String { "http://127.0.0.1:\(port)" }

    /// One request with curl: status, headers (lower-cased names), body.
    func http(
        _ method: String, _ path: String, body: String? = nil, headers: [String: String] = [:], token: Bool = true
    ) throws -> Answer {
        let head = work + "/h-\(UUID().uuidString)"
        let content = work + "/b-\(UUID().uuidString)"
        defer {
            try? FileManager.default.removeItem(atPath: head)
            try? FileManager.default.removeItem(atPath: content)
        }
        var args = ["-s", "-X", method, "-D", head, "-o", content, "-w", "%{http_code}", "--max-time", "60"]
        if token { args += ["-H", "Authorization: Bearer \(self.token)"] }
        for (k, v) in headers { args += ["-H", "\(k): \(v)"] }
        if let body { args += ["-H", "Content-Type: application/json", "--data-binary", body] }
        args.append(base + path)
        let r = try CommandLineRunner.tool("/usr/bin/curl", args)
        var fields: [String: String] = [:]
        for line in ((try? String(contentsOfFile: head, encoding: .utf8)) ?? "").split(separator: "\r\n") {
            guard let colon = line.firstIndex(of: ":") else { continue }
            fields[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        return Answer(
            status: Int(r.stdout) ?? 0, headers: fields,
            body: (try? Data(contentsOf: URL(fileURLWithPath: content))) ?? Data())
    }
}

/// Holds JSON to the schemas of the service's OpenAPI document (the subset it uses: $ref, type, required,
/// properties, additionalProperties, items, enum).
struct OpenAPIDocument {
    let root: [String: Any]

    init(yaml: String) throws {
        root = try #require(try Yams.load(yaml: yaml) as? [String: Any])
    }

    func schema(_ name: String) -> [String: Any] {
        (((root["components"] as? [String: Any])?["schemas"] as? [String: Any])?[name] as? [String: Any]) ?? [:]
    }

    /// The schema of `path`'s `method` answer with `status` (application/json), or nil when undocumented.
    func responseSchema(_ path: String, _ method: String, _ status: Int) -> [String: Any]? {
        guard let op = ((root["paths"] as? [String: Any])?[path] as? [String: Any])?[method] as? [String: Any],
            var response = (op["responses"] as? [String: Any])?["\(status)"] as? [String: Any]
        else { return nil }
        if let ref = response["$ref"] as? String {
            response = resolve(ref)
        }
        return ((response["content"] as? [String: Any])?["application/json"] as? [String: Any])?["schema"]
            as? [String: Any]
    }

    func resolve(_ ref: String) -> [String: Any] {
        var node: Any? = root
        for part in ref.dropFirst(2).split(separator: "/") { node = (node as? [String: Any])?[String(part)] }
        return node as? [String: Any] ?? [:]
    }

    /// Every way `value` departs from `schema` (empty: it conforms).
    func violations(_ value: Any, _ schema: [String: Any], at path: String = "$") -> [String] {
        if let ref = schema["$ref"] as? String { return violations(value, resolve(ref), at: path) }
        var out: [String] = []
        if let options = schema["enum"] as? [Any], !options.contains(where: { "\($0)" == "\(value)" }) {
            out.append("\(path): \(value) not in \(options)")
        }
        switch schema["type"] as? String {
        case "object":
            guard let object = value as? [String: Any] else { return out + ["\(path): not an object"] }
            for key in schema["required"] as? [String] ?? [] where object[key] == nil {
                out.append("\(path).\(key): required, missing")
            }
            let properties = schema["properties"] as? [String: Any] ?? [:]
            for (key, item) in object {
                if let p = properties[key] as? [String: Any] {
                    out += violations(item, p, at: "\(path).\(key)")
                } else if schema["additionalProperties"] as? Bool == false {
                    out.append("\(path).\(key): not in the document")
                } else if let extra = schema["additionalProperties"] as? [String: Any] {
                    out += violations(item, extra, at: "\(path).\(key)")
                }
            }
        case "array":
            guard let array = value as? [Any] else { return out + ["\(path): not an array"] }
            if let items = schema["items"] as? [String: Any] {
                for (i, item) in array.enumerated() { out += violations(item, items, at: "\(path)[\(i)]") }
            }
        case "string": if !(value is String) { out.append("\(path): not a string") }
        case "boolean": if !(value is Bool) { out.append("\(path): not a boolean") }
        case "integer": if !(value is Int) { out.append("\(path): not an integer") }
        case "number": if !(value is Double || value is Int) { out.append("\(path): not a number") }
        default: break
        }
        return out
    }

    /// A raw answer (the edge's tests), held the same way.
    func check(_ answer: RawHTTP.Answer, _ path: String, _ method: String) {
        check(
            DeskHarness.Answer(status: answer.status, headers: answer.headers, body: Data(answer.body.utf8)), path,
            method)
    }

    /// The answer's status is documented for the operation and its JSON conforms to the documented schema.
    func check(_ answer: DeskHarness.Answer, _ path: String, _ method: String) {
        if let problem = nonconformance(answer, path, method) { Issue.record(Comment(rawValue: problem)) }
    }

    /// What in the answer the OpenAPI document does not allow, nil when it conforms.
    func nonconformance(_ answer: DeskHarness.Answer, _ path: String, _ method: String) -> String? {
        guard let schema = responseSchema(path, method, answer.status) else {
            return "\(method.uppercased()) \(path) answered \(answer.status), which the OpenAPI document does not list"
        }
        guard let json = try? JSONSerialization.jsonObject(with: answer.body) else {
            return "\(method.uppercased()) \(path) \(answer.status): not JSON"
        }
        let problems = violations(json, schema)
        return problems.isEmpty ? nil : "\(method.uppercased()) \(path) \(answer.status): \(problems)"
    }
}
