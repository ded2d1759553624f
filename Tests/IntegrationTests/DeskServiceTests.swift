import CardCore
import Desk
import Foundation
import LDS
import PCSC
import Personalization
import Reader
import TestSupport
import Testing

/// `cccd serve` through real pcscd (part of the serialized pcscd suite: it uses the same virtual reader).
extension PCSCReadTests {
    @Test(
        "cccd serve through pcscd: with the token the genuine report (as the OpenAPI document says); 401 without it, 403 for a foreign Origin, Host refused; CORS only for allowed origins; the events stream delivers the report; the portrait (PNG from JPEG 2000) has DG2's size; reports erased after their lifetime; the audit log names the reads without portraits or keys"
    )
    func deskService() throws {
        let card = try JP2Card.make()
        defer { card.remove() }
        let allowed = "https://his.hospital.example"
        let desk = try DeskHarness(card: card, lifetime: 4, allowOrigin: allowed)
        defer { desk.stop() }

        // The token file: made on first start, owner only.
        var info = stat()
        #expect(stat(desk.tokenFile, &info) == 0 && info.st_mode & 0o777 == 0o600, "token file mode")
        #expect(desk.token.count >= 32)

        let yaml = try desk.http("GET", "/openapi.yaml", token: false)
        #expect(yaml.status == 200)
        let api = try OpenAPIDocument(yaml: String(decoding: yaml.body, as: UTF8.self))

        let readers = try desk.http("GET", "/v1/readers")
        #expect(readers.status == 200)
        api.check(readers, "/v1/readers", "get")
        let list = readers.json?["readers"] as? [[String: Any]] ?? []
        #expect(list.contains { $0["name"] as? String == DeskHarness.reader && $0["cardPresent"] as? Bool == true })

        // The events stream, listening before the read.
        let eventsFile = desk.work + "/events.txt"
        FileManager.default.createFile(atPath: eventsFile, contents: nil)
        let events = try ChildProcess(
            "/usr/bin/curl",
            ["-s", "-N", "-H", "Authorization: Bearer \(desk.token)", "-o", eventsFile, desk.base + "/v1/events"])
        defer { events.stop() }
        Thread.sleep(forTimeInterval: 0.5)

        let body = #"{"reader":"\#(DeskHarness.reader)","idNumber":"\#(JP2Card.idNumber)"}"#
        let read = try desk.http("POST", "/v1/read", body: body)
        #expect(read.status == 200, "\(String(decoding: read.body, as: UTF8.self))")
        api.check(read, "/v1/read", "post")
        let report = try #require(read.json)
        #expect(report["genuine"] as? Bool == true && report["valid"] as? Bool == true)
        #expect(report["accessControl"] as? String == "PACE-CAN")
        #expect((report["holder"] as? [String: Any])?["fullName"] as? String == JP2Card.fullName)
        let checks = report["checks"] as? [String: [String: String]] ?? [:]
        for check in ["passiveAuthentication", "chipAuthentication", "activeAuthentication"] {
            #expect(checks[check]?["status"] == "passed", "\(check)")
        }
        let readID = try #require(report["readId"] as? String)
        let portraitURL = try #require(report["portraitURL"] as? String)
        #expect(portraitURL == "/v1/reads/\(readID)/portrait")

        // The same read is what `cccd read --json` says (one contract), but for the service's own fields: where
        // the read is kept, the reader and the times (ISO 8601 with the zone offset).
        let cli = try CommandLineRunner.run([
            "read", "--card", card.card, "--id", JP2Card.idNumber, "--trust", card.csca, "--json",
        ])
        let cliKeys = Set((cli.json ?? [:]).keys)
        #expect(
            Set(report.keys).subtracting(["readId", "portraitURL", "reader", "readAt", "expiresAt"]) == cliKeys)
        #expect(report["reader"] as? String == DeskHarness.reader)
        for field in ["readAt", "expiresAt"] {
            let time = report[field] as? String ?? ""
            #expect(
                time.range(of: #"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}(Z|[+-]\d\d:\d\d)$"#, options: .regularExpression)
                    != nil, "\(field): \(time)")
        }

        // The portrait: PNG (decoded from the chip's JPEG 2000) of DG2's size.
        let portrait = try desk.http("GET", portraitURL)
        #expect(portrait.status == 200 && portrait.headers["content-type"] == "image/png")
        let dg2 = report["portrait"] as? [String: Any] ?? [:]
        let size = try #require(pngDimensions(portrait.body))
        #expect(size.0 == dg2["width"] as? Int && size.1 == dg2["height"] as? Int && size == (240, 320))

        // Locked down.
        let anonymous = try desk.http("POST", "/v1/read", body: body, token: false)
        #expect(anonymous.status == 401 && anonymous.headers["www-authenticate"]?.hasPrefix("Bearer") == true)
        api.check(anonymous, "/v1/read", "post")
        let wrongToken = try desk.http(
            "GET", "/v1/readers", headers: ["Authorization": "Bearer " + String(repeating: "0", count: 64)],
            token: false)
        #expect(wrongToken.status == 401)
        let evil = try desk.http("POST", "/v1/read", body: body, headers: ["Origin": "http://evil.example"])
        #expect(evil.status == 403 && evil.headers["access-control-allow-origin"] == nil)
        api.check(evil, "/v1/read", "post")
        let rebound = try desk.http("GET", "/v1/readers", headers: ["Host": "evil.example"])
        #expect(rebound.status == 421, "Host: evil.example answered \(rebound.status)")
        let reboundPort = try desk.http("GET", "/v1/readers", headers: ["Host": "evil.example:\(desk.port)"])
        #expect(reboundPort.status == 421)
        let preflight = try desk.http(
            "OPTIONS", "/v1/read",
            headers: ["Origin": allowed, "Access-Control-Request-Method": "POST"], token: false)
        #expect(preflight.status == 204 && preflight.headers["access-control-allow-origin"] == allowed)
        #expect(preflight.headers["access-control-allow-headers"]?.contains("Authorization") == true)
        let evilPreflight = try desk.http(
            "OPTIONS", "/v1/read", headers: ["Origin": "http://evil.example", "Access-Control-Request-Method": "POST"],
            token: false)
        #expect(evilPreflight.status == 403 && evilPreflight.headers["access-control-allow-origin"] == nil)
        let fromHIS = try desk.http("GET", "/v1/readers", headers: ["Origin": allowed])
        #expect(fromHIS.status == 200 && fromHIS.headers["access-control-allow-origin"] == allowed)

        // The other keys: the QR text; a wrong CAN; a key that is no key.
        let byQR = try desk.http("POST", "/v1/read", body: try jsonBody(["qr": JP2Card.qrText, "fields": "basic"]))
        #expect(byQR.status == 200 && byQR.json?["genuine"] as? Bool == true)
        #expect((byQR.json?["files"] as? [String: Int])?["DG2"] == nil, "fields basic read DG2")
        api.check(byQR, "/v1/read", "post")
        let wrong = try desk.http("POST", "/v1/read", body: #"{"can":"123456"}"#)
        #expect(wrong.status == 422 && (wrong.json?["error"] as? [String: Any])?["code"] as? String == "accessDenied")
        api.check(wrong, "/v1/read", "post")
        let junk = try desk.http("POST", "/v1/read", body: #"{"can":"12x"}"#)
        #expect(junk.status == 400)
        api.check(junk, "/v1/read", "post")
        let notJSON = try desk.http("POST", "/v1/read", body: "can=000000")
        #expect(notJSON.status == 400)
        let noReader = try desk.http("POST", "/v1/read", body: #"{"reader":"Nope","can":"000000","wait":1}"#)
        #expect(noReader.status == 404)
        api.check(noReader, "/v1/read", "post")

        // The events stream delivered the report.
        let deadline = Date().addingTimeInterval(10)
        var stream = ""
        while Date() < deadline {
            stream = (try? String(contentsOfFile: eventsFile, encoding: .utf8)) ?? ""
            if stream.contains("event: reportReady") { break }
            Thread.sleep(forTimeInterval: 0.1)
        }
        #expect(stream.contains("event: readStarted"))
        #expect(stream.contains("event: readProgress"))
        let ready = stream.components(separatedBy: "\n\n").first { $0.hasPrefix("event: reportReady") } ?? ""
        let data = ready.split(separator: "\n").first { $0.hasPrefix("data: ") }.map { String($0.dropFirst(6)) } ?? ""
        let event = try #require(try JSONSerialization.jsonObject(with: Data(data.utf8)) as? [String: Any])
        #expect(event["id"] as? String == readID && event["reader"] as? String == DeskHarness.reader)
        let eventReport = event["report"] as? [String: Any] ?? [:]
        #expect((eventReport["holder"] as? [String: Any])?["idNumber"] as? String == JP2Card.idNumber)
        #expect(api.violations(eventReport, api.schema("CardReport")).isEmpty)

        // Kept for the lifetime only.
        let latest = try desk.http("GET", "/v1/reads/latest")
        #expect(latest.status == 200)
        api.check(latest, "/v1/reads/latest", "get")
        Thread.sleep(forTimeInterval: 4.5)
        let gone = try desk.http("GET", "/v1/reads/\(readID)")
        #expect(gone.status == 404)
        api.check(gone, "/v1/reads/{id}", "get")
        #expect(try desk.http("GET", portraitURL).status == 404)
        #expect(try desk.http("GET", "/v1/reads/latest").status == 404)

        // The audit log: the reads with their verdicts and who asked; the refusals; nothing else.
        let entries = try AuditLog(path: desk.auditFile).entries()
        let reports = entries.filter { $0.outcome == "report" }
        #expect(reports.count == 2)
        #expect(reports.allSatisfy { $0.idNumber == JP2Card.idNumber && $0.genuine == true && $0.valid == true })
        #expect(reports.allSatisfy { $0.reader == DeskHarness.reader && $0.tokenId.count == 12 })
        #expect(reports.first?.checks?.contains("chipAuthentication=passed") == true)
        let outcomes = entries.map(\.outcome).joined(separator: " | ")
        for refusal in ["bearer token", "origin not allowed", "host evil.example", "accessDenied"] {
            #expect(outcomes.contains(refusal), "audit lacks \(refusal): \(outcomes)")
        }
        #expect(entries.contains { $0.origin == "http://evil.example" })
        let raw = [UInt8](try Data(contentsOf: URL(fileURLWithPath: desk.auditFile)))
        let mrzLine = try #require(
            ((report["document"] as? [String: Any])?["mrz"] as? String)?.split(separator: "\n").first.map(String.init))
        #expect(mrzLine.count == 30)
        let image = [UInt8](try Data(contentsOf: URL(fileURLWithPath: VectorFile.directory + "/sample-portrait.jp2")))
        for (name, secret) in [
            ("the token", Array(desk.token.utf8)), ("the CAN", Array(#""can":"123456""#.utf8)),
            ("the portrait", Array(image[100..<140])), ("the PNG", Array(portrait.body[40..<80])),
            ("the MRZ", Array(mrzLine.utf8)), ("the QR text", Array("01011990|Nam".utf8)),
        ] {
            #expect(!contains(raw, secret), "the audit log holds \(name)")
        }
        var mode = stat()
        #expect(stat(desk.auditFile, &mode) == 0 && mode.st_mode & 0o077 == 0, "the audit log is readable by others")

        // A key given before the card: the read waits, and happens the moment the card is inserted.
        try desk.removeCard()
        let early = desk.work + "/early.json"
        let waiting = try ChildProcess(
            "/usr/bin/curl",
            [
                "-s", "--max-time", "60", "-H", "Authorization: Bearer \(desk.token)", "-H",
                "Content-Type: application/json", "--data-binary", #"{"can":"000000","wait":30}"#,
                desk.base + "/v1/read",
            ], stdout: early, stderr: early + ".err")
        defer { waiting.stop() }
        Thread.sleep(forTimeInterval: 1.5)
        #expect(waiting.running, "the read did not wait for the card")
        try desk.insertCard()
        let until = Date().addingTimeInterval(30)
        while waiting.running && Date() < until { Thread.sleep(forTimeInterval: 0.1) }
        let answer = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: early)))
        #expect(
            (answer as? [String: Any])?["genuine"] as? Bool == true,
            "\(answer) \((try? String(contentsOfFile: early + ".err", encoding: .utf8)) ?? "")")
    }

    @Test(
        "The clerk's page in headless Chromium: typed key and Enter read the card; name with diacritics, portrait, badges; a read made elsewhere arrives live through the events; screenshot saved"
    )
    func clerkPage() throws {
        let card = try JP2Card.make()
        defer { card.remove() }
        let desk = try DeskHarness(card: card, lifetime: 60, allowOrigin: "https://his.hospital.example")
        defer { desk.stop() }
        let browser = try HeadlessChromium()
        defer { browser.close() }
        try browser.navigate(desk.base + "/#token=" + desk.token)
        try browser.waitFor("document.getElementById('status').textContent.includes('Sẵn sàng')")
        // The token left the address bar; the readers are listed with their state.
        #expect(try browser.evaluate("location.hash") as? String == "")
        try browser.waitFor(
            "[...document.querySelectorAll('#readers li')].some(li => li.dataset.reader === '\(DeskHarness.reader)' && li.textContent.includes('card present'))"
        )
        // Keyboard alone: the key field has the focus; typing (or a scanner) and Enter read the card.
        #expect(try browser.evaluate("document.activeElement.id") as? String == "key-input")
        try browser.type(JP2Card.idNumber)
        try browser.press("Enter", code: "Enter", keyCode: 13)
        try browser.waitFor("document.getElementById('holder-name').textContent === '\(JP2Card.fullName)'")
        // The portrait decoded by the browser at DG2's size (240 × 320).
        try browser.waitFor(
            "document.getElementById('portrait').naturalWidth === 240 && document.getElementById('portrait').naturalHeight === 320"
        )
        #expect(try browser.evaluate("document.getElementById('portrait').hidden") as? Bool == false)
        #expect(try browser.evaluate("document.getElementById('holder-id').textContent") as? String == JP2Card.idNumber)
        #expect(try browser.evaluate("document.getElementById('holder-dob').textContent") as? String == "01/01/1990")
        #expect(try browser.evaluate("document.getElementById('holder-sex').textContent") as? String == "Nam (Male)")
        let address = try browser.evaluate("document.getElementById('holder-address').textContent") as? String
        #expect(address?.contains("Tràng Tiền") == true)
        #expect(try browser.evaluate("document.getElementById('holder-expiry').textContent") as? String == "01/01/2030")
        let badges = try #require(
            try browser.evaluate(
                "Object.fromEntries([...document.querySelectorAll('#badges .badge')].map(b => [b.id, b.dataset.status]))"
            ) as? [String: String])
        #expect(
            badges == [
                "badge-genuine": "passed", "badge-valid": "passed", "badge-passiveAuthentication": "passed",
                "badge-chipAuthentication": "passed", "badge-activeAuthentication": "passed",
            ], "\(badges)")
        // Vietnamese by default; English is a setting (kept in the browser).
        let vietnamese = try browser.evaluate("document.body.innerText") as? String ?? ""
        for label in ["Họ và tên", "Ngày sinh", "Giới tính", "Có giá trị đến", "Ngày cấp", "Quê quán", "THẺ THẬT, CÒN HẠN"] {
            #expect(vietnamese.contains(label), "the page lacks the label \(label)")
        }
        #expect(!vietnamese.contains("Full name"), "English shows without the setting")
        _ = try browser.evaluate("document.getElementById('english').click(); true")
        let labels = try browser.evaluate("document.body.innerText") as? String ?? ""
        for label in ["Full name", "Date of birth", "Expiry", "GENUINE, VALID"] {
            #expect(labels.contains(label), "the page lacks the label \(label)")
        }
        _ = try browser.evaluate("document.getElementById('english').click(); document.getElementById('key-input').focus(); true")
        // After the read, the focus is back in the key field for the next card.
        #expect(try browser.evaluate("document.activeElement.id") as? String == "key-input")
        let folder = CommandLineRunner.root + "/.build/test-artifacts"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let shot = try browser.screenshot()
        try shot.write(to: URL(fileURLWithPath: folder + "/clerk-page.png"))
        #expect(pngDimensions(shot) != nil)

        // Live: the page is cleared, desk software reads the card through the API, the page shows it from the
        // events stream alone.
        _ = try browser.evaluate(
            "document.getElementById('holder-name').textContent = ''; document.getElementById('badges').replaceChildren(); true"
        )
        let read = try desk.http(
            "POST", "/v1/read", body: try jsonBody(["qr": JP2Card.qrText, "reader": DeskHarness.reader]))
        #expect(read.status == 200)
        try browser.waitFor("document.getElementById('holder-name').textContent === '\(JP2Card.fullName)'")
        try browser.waitFor("document.querySelectorAll('#badges .badge').length === 5")
        try browser.screenshot().write(to: URL(fileURLWithPath: folder + "/clerk-page-live.png"))
    }
}

extension PCSCReadTests {
    @Test(
        "The clerk's page forgets the last holder: the card removed → the panel and the key field empty (and a page opened then shows nobody); the report's lifetime over → empty; a failed read → its error alone, in Vietnamese; screenshots of the Vietnamese verdict with its reasons"
    )
    func clerkPageForgets() throws {
        let card = try JP2Card.make()
        defer { card.remove() }
        let desk = try DeskHarness(card: card, lifetime: 5, allowOrigin: "https://his.hospital.example")
        defer { desk.stop() }
        let browser = try HeadlessChromium()
        defer { browser.close() }
        let folder = CommandLineRunner.root + "/.build/test-artifacts"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        func shot(_ name: String) throws {
            let png = try browser.screenshot()
            try png.write(to: URL(fileURLWithPath: folder + "/" + name))
            #expect(pngDimensions(png) != nil)
            print("screenshot: \(folder)/\(name)")
        }
        let empty =
            "document.getElementById('card').hidden && document.getElementById('holder-name').textContent === '' && document.getElementById('holder-id').textContent === '' && document.getElementById('key-input').value === '' && document.getElementById('portrait').hidden && !document.getElementById('portrait').getAttribute('src')"
        func readByKey(_ key: String) throws {
            _ = try browser.evaluate("const k = document.getElementById('key-input'); k.value = ''; k.focus(); true")
            try browser.type(key)
            try browser.press("Enter", code: "Enter", keyCode: 13)
        }
        try browser.navigate(desk.base + "/#token=" + desk.token)
        try browser.waitFor("document.getElementById('status').textContent.includes('Sẵn sàng')")
        try browser.waitFor(
            "[...document.querySelectorAll('#readers li')].some(li => li.textContent.includes('card present'))")

        // 1. A read: the verdict first, in Vietnamese, with its reasons, the reader and the time.
        try readByKey(JP2Card.idNumber)
        try browser.waitFor("document.getElementById('holder-name').textContent === '\(JP2Card.fullName)'")
        try browser.waitFor("!document.getElementById('portrait').hidden")
        let verdict = try browser.evaluate("document.getElementById('verdict').innerText") as? String ?? ""
        #expect(verdict == "THẺ THẬT, CÒN HẠN", "\(verdict)")
        let reasons = try browser.evaluate("[...document.querySelectorAll('#reasons li')].map(li => li.innerText)") as? [String] ?? []
        #expect(reasons.count == 5, "\(reasons)")
        #expect(reasons.contains { $0.contains("Chip thật") } && reasons.contains { $0.contains("Còn hạn đến ngày 01/01/2030") })
        let info = try browser.evaluate("document.getElementById('read-info').innerText") as? String ?? ""
        #expect(info.contains(DeskHarness.reader) && info.contains("Đọc lúc"), "\(info)")
        // The verdict sits above the holder's data, inside the first screen at 800 px.
        let top = try browser.evaluate("document.getElementById('verdict').getBoundingClientRect().top < document.getElementById('holder-name').getBoundingClientRect().top") as? Bool
        #expect(top == true)
        try shot("clerk-page-verdict.png")

        // 2. The card leaves: nobody on screen, the key gone; a page opened now shows nobody either.
        try desk.removeCard()
        try browser.waitFor(empty)
        #expect(try desk.http("GET", "/v1/reads/latest").status == 404)
        try browser.navigate(desk.base + "/")
        try browser.waitFor("document.getElementById('status').textContent.includes('Sẵn sàng')")
        Thread.sleep(forTimeInterval: 0.5)
        #expect(try browser.evaluate(empty) as? Bool == true, "a fresh page shows the last holder")
        try shot("clerk-page-after-removal.png")

        // 3. The card back, read again, left in the reader: the report's lifetime (5 s) ends → empty.
        try desk.insertCard()
        try browser.waitFor(
            "[...document.querySelectorAll('#readers li')].some(li => li.textContent.includes('card present'))")
        try readByKey(JP2Card.idNumber)
        try browser.waitFor("document.getElementById('holder-name').textContent === '\(JP2Card.fullName)'")
        try browser.waitFor(empty, timeout: 15)

        // 4. A good read, then a wrong key: the error stands alone, in Vietnamese.
        try readByKey(JP2Card.idNumber)
        try browser.waitFor("document.getElementById('holder-name').textContent === '\(JP2Card.fullName)'")
        try readByKey("123456")
        try browser.waitFor("!document.getElementById('error').hidden", timeout: 30)
        #expect(try browser.evaluate(empty) as? Bool == true, "the previous holder stayed beside the error")
        let error = try browser.evaluate("document.getElementById('error-text').innerText") as? String ?? ""
        #expect(error.contains("Thẻ từ chối khóa"), "\(error)")
        try shot("clerk-page-error.png")

        // 5. Clear empties everything at once.
        try readByKey(JP2Card.idNumber)
        try browser.waitFor("document.getElementById('holder-name').textContent === '\(JP2Card.fullName)'")
        let cleared = try browser.evaluate("shownRead") as? String
        _ = try browser.evaluate("document.getElementById('clear-button').click(); true")
        try browser.waitFor(empty)
        // The read's event coming late (after the answer and the Clear, as on a busy desk) does not bring it back.
        let late = try desk.http("GET", "/v1/reads/latest")
        #expect(late.status == 200 && cleared != nil)
        _ = try browser.evaluate("handle('reportReady', { report: \(String(decoding: late.body, as: UTF8.self)) }); true")
        Thread.sleep(forTimeInterval: 0.5)
        #expect(try browser.evaluate(empty) as? Bool == true, "a late event for the cleared read showed its holder again")
    }
}

extension PCSCReadTests {
    @Test(
        "Reader 'any' with two cards present: the desk tries each card until the key opens one (the report names its reader); a key that opens none is refused naming the readers tried"
    )
    func deskAnyReaderTwoCards() throws {
        let card = try JP2Card.make()
        defer { card.remove() }
        let desk = try DeskHarness(card: card, lifetime: 60, allowOrigin: "https://his.hospital.example")
        defer { desk.stop() }
        // A second patient's card, in the other reader ("Virtual PCD 00 00", listed first).
        let other = desk.work + "/other"
        try FileManager.default.createDirectory(atPath: other, withIntermediateDirectories: true)
        try TestPKI().write(to: other + "/pki")
        try SampleRecord.writeImages(to: other)
        let record = try #require(SampleRecord.batch(count: 1, seed: 4711, portrait: "portrait.jpg", today: Self.today).first)
        try SampleRecord.jsonLines([record]).write(toFile: other + "/record.json", atomically: true, encoding: .utf8)
        let prepared = try CommandLineRunner.run(
            ["prepare", "--signer", "pki", "--record", "record.json", "--out", "card.json"], in: other)
        try #require(prepared.status == 0, "\(prepared.stderr)")
        let firstReader = "Virtual PCD 00 00"
        let context = try PCSCContext()
        try context.waitForRemoval(reader: firstReader, timeout: 15)
        let emulator = try ChildProcess(
            CommandLineRunner.root + "/.build/debug/cccd",
            ["emulate", "--card", other + "/card.json", "--vpcd", "localhost:35963"])
        defer {
            emulator.stop()
            try? context.waitForRemoval(reader: firstReader, timeout: 15)
        }
        _ = try context.waitForCard(reader: firstReader, timeout: 15)
        Thread.sleep(forTimeInterval: 0.5)  // the desk's watch sees both cards

        // JP2Card's key: the card in the first reader refuses it, the second opens.
        let second = try desk.http("POST", "/v1/read", body: try jsonBody(["idNumber": JP2Card.idNumber]))
        #expect(second.status == 200, "\(String(decoding: second.body, as: UTF8.self))")
        #expect(second.json?["reader"] as? String == DeskHarness.reader)
        #expect((second.json?["holder"] as? [String: Any])?["idNumber"] as? String == JP2Card.idNumber)
        // The other card's key: opened at once in the first reader.
        let first = try desk.http("POST", "/v1/read", body: try jsonBody(["idNumber": record.idNumber]))
        #expect(first.status == 200, "\(String(decoding: first.body, as: UTF8.self))")
        #expect(first.json?["reader"] as? String == firstReader)
        // A key for neither: refused, naming both readers.
        let neither = try desk.http("POST", "/v1/read", body: try jsonBody(["can": "987654"]))
        #expect(neither.status == 422)
        let message = ((neither.json?["error"] as? [String: Any])?["message"] as? String) ?? ""
        #expect(message.contains(firstReader) && message.contains(DeskHarness.reader), "\(message)")
    }
}

func jsonBody(_ object: [String: String]) throws -> String {
    String(decoding: try JSONSerialization.data(withJSONObject: object), as: UTF8.self)
}

func contains(_ haystack: [UInt8], _ needle: [UInt8]) -> Bool {
    guard !needle.isEmpty, haystack.count >= needle.count else { return false }
    for i in 0...(haystack.count - needle.count) where haystack[i] == needle[0] {
        if Array(haystack[i..<i + needle.count]) == needle { return true }
    }
    return false
}

extension PCSCReadTests {
    @Test("cccd read --watch --json through pcscd: the card in the reader is read at once, one JSON line per card")
    func readWatch() throws {
        let card = try JP2Card.make()
        defer { card.remove() }
        let context = try PCSCContext()
        try #require(try context.readers().contains(Self.readerName), "pcscd with vsmartcard-vpcd is not running")
        try context.waitForRemoval(reader: Self.readerName, timeout: 15)
        let emulator = try ChildProcess(
            CommandLineRunner.root + "/.build/debug/cccd",
            ["emulate", "--card", card.card, "--vpcd", "localhost:\(Self.port)"])
        defer {
            emulator.stop()
            try? context.waitForRemoval(reader: Self.readerName, timeout: 15)
        }
        _ = try context.waitForCard(reader: Self.readerName, timeout: 15)
        let r = try CommandLineRunner.run([
            "read", "--watch", "--max-cards", "1", "--reader", Self.readerName, "--id", JP2Card.idNumber, "--trust",
            card.csca, "--json",
        ])
        #expect(r.status == 0, "\(r.stderr)")
        let lines = r.stdout.split(separator: "\n")
        #expect(lines.count == 1, "one JSON line per card: \(r.stdout)")
        let report = try #require(
            try JSONSerialization.jsonObject(with: Data((lines.first ?? "").utf8)) as? [String: Any])
        #expect(report["genuine"] as? Bool == true)
        #expect((report["holder"] as? [String: Any])?["idNumber"] as? String == JP2Card.idNumber)
    }
}
