import CardCore
import Foundation

/// The relay protocol, version 1 (README "Bank relay", `GET /relay/v1/asyncapi.json`): JSON text messages on one
/// WebSocket, one read per connection.
///
///     client → server  {"type":"hello","version":1,"token":"…","can":"123456","extendedLength":true}
///     server → client  {"type":"command","seq":1,"apdu":"00A4040C07A0000002471001"}
///     client → server  {"type":"answer","seq":1,"apdu":"9000"}
///     …                (one command at a time; seq counts 1, 2, 3, …)
///     server → client  {"type":"result","sid":"…","genuine":true,"verdict":"GENUINE, VALID","report":"<JWS>"}
///     server → client  {"type":"error","code":"tampering","message":"…"}   (instead of a result)
///     client → server  {"type":"abort","reason":"tag lost"}                (the card left the phone)
///
/// The access key is one of `can`, `idNumber`, `qr`, `mrz`, or `documentNumber` + `dateOfBirth` + `dateOfExpiry`
/// (as `POST /v1/read` of the desk takes them).
public enum RelayProtocol {
    public static let version = 1
    public static let path = "/relay/v1"
    /// The largest message either side accepts: an extended-length answer of 64 KiB in hex, with room to spare.
    public static let maxMessageBytes = 140_000
    /// The hello's fields.
    public static let helloFields = [
        "type", "version", "token", "can", "idNumber", "qr", "mrz", "documentNumber", "dateOfBirth", "dateOfExpiry",
        "extendedLength", "atr", "client",
    ]
}

/// Why a relay session ended without a report, in the integrator's terms. `code` is stable (the error message's
/// `code`); the close code tells a WebSocket library the same.
public struct RelayError: Error, Sendable, Hashable, CustomStringConvertible {
    public enum Code: String, Sendable, CaseIterable, Codable {
        /// A message that is not version-1 JSON of the expected type.
        case badMessage
        case unsupportedVersion
        /// The token does not verify (forged, another server's secret, malformed).
        case badToken
        case tokenExpired
        /// The token's one read was already made (or is being made).
        case tokenUsed
        /// The access key is not the one the token was issued for.
        case wrongCard
        /// The client's sessions per minute, or the server's concurrent sessions, are used up: try later.
        case rateLimited
        case busy
        /// No hello, or no answer to a command, in time.
        case timeout
        /// The session's cap on APDUs or bytes.
        case tooManyAPDUs
        case tooManyBytes
        /// An answer out of sequence, twice, unasked, or failing the chip's secure messaging.
        case tampering
        /// The card refused the access key.
        case accessDenied
        /// The client said the card left, or the connection closed.
        case cardRemoved
        /// The card answered in a way no read can go on from.
        case cardError
        /// The server's own failure (the audit store is down, the signing key failed).
        case unavailable
    }

    public let code: Code
    public let message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "\(code.rawValue): \(message)" }

    /// The WebSocket close code (RFC 6455 §7.4): 1008 policy for what the client did wrong, 1013 try again later,
    /// 1011 the server's failure, 1000 otherwise.
    public var closeCode: UInt16 {
        switch code {
        case .badMessage, .unsupportedVersion, .badToken, .tokenExpired, .tokenUsed, .wrongCard, .tooManyAPDUs,
            .tooManyBytes, .tampering:
            return 1008
        case .rateLimited, .busy: return 1013
        case .unavailable: return 1011
        case .timeout, .accessDenied, .cardRemoved, .cardError: return 1000
        }
    }
}

/// What the client sends first. `description` names the key's kind, never the token or the key.
public struct RelayHello: Sendable, Hashable, CustomStringConvertible {
    public var description: String {
        let kind =
            can != nil ? "CAN" : idNumber != nil ? "ID number" : qr != nil ? "QR" : mrz != nil ? "MRZ" : "MRZ fields"
        return "RelayHello(version \(version), key: \(kind), <redacted>, extendedLength: \(extendedLength))"
    }

    public var version = RelayProtocol.version
    public var token: String
    public var can: String?
    public var idNumber: String?
    public var qr: String?
    public var mrz: String?
    public var documentNumber: String?
    public var dateOfBirth: String?
    public var dateOfExpiry: String?
    /// The phone's link passes extended-length APDUs (Android's IsoDep.isExtendedLengthApduSupported; iOS: true).
    public var extendedLength = false
    public var atr: [UInt8] = []
    /// The relay software's name and version, for the audit row (at most 64 characters).
    public var client: String?

    public init(token: String, can: String? = nil, extendedLength: Bool = false) {
        self.token = token
        self.can = can
        self.extendedLength = extendedLength
    }

    /// Parses a hello strictly: unknown fields, wrong types and over-long values are refused by name.
    public init(json bytes: [UInt8]) throws(RelayError) {
        let members = try RelayMessageParser.object(bytes, allowed: RelayProtocol.helloFields, type: "hello")
        token = ""
        var sawToken = false
        for (key, value) in members {
            switch key {
            case "type": continue
            case "version":
                guard case .number(let text) = value, let v = Int(text) else {
                    throw RelayError(.badMessage, "hello: version must be an integer")
                }
                version = v
            case "extendedLength":
                guard case .bool(let b) = value else { throw RelayError(.badMessage, "hello: extendedLength must be true or false") }
                extendedLength = b
            default:
                guard case .string(let text) = value else { throw RelayError(.badMessage, "hello: \(key) must be a string") }
                guard text.utf8.count <= (key == "token" || key == "qr" ? 2048 : 128) else {
                    throw RelayError(.badMessage, "hello: \(key) is too long")
                }
                switch key {
                case "token":
                    token = text
                    sawToken = true
                case "can": can = text
                case "idNumber": idNumber = text
                case "qr": qr = text
                case "mrz": mrz = text
                case "documentNumber": documentNumber = text
                case "dateOfBirth": dateOfBirth = text
                case "dateOfExpiry": dateOfExpiry = text
                case "client": client = String(text.prefix(64))
                default:
                    do { atr = try Hex.decode(text) } catch { throw RelayError(.badMessage, "hello: atr is not hex") }
                    guard atr.count <= 33 else { throw RelayError(.badMessage, "hello: an ATR has at most 33 bytes") }
                }
            }
        }
        guard sawToken else { throw RelayError(.badMessage, "hello: no token") }
        guard version == RelayProtocol.version else {
            throw RelayError(.unsupportedVersion, "this server speaks relay protocol version \(RelayProtocol.version), not \(version)")
        }
    }

    /// The hello as the client sends it.
    public func json() -> String {
        var object: [String: RelayJSONValue] = ["type": .string("hello"), "version": .int(version), "token": .string(token)]
        for (key, value) in [
            ("can", can), ("idNumber", idNumber), ("qr", qr), ("mrz", mrz), ("documentNumber", documentNumber),
            ("dateOfBirth", dateOfBirth), ("dateOfExpiry", dateOfExpiry), ("client", client),
        ] {
            if let value { object[key] = .string(value) }
        }
        object["extendedLength"] = .bool(extendedLength)
        if !atr.isEmpty { object["atr"] = .string(Hex.encode(atr)) }
        return RelayJSONValue.object(object).text
    }
}

/// An answer the client relays: the card's response APDU (data and status word) to command `seq`.
public struct RelayAnswer: Sendable, Hashable {
    public var seq: Int
    public var apdu: [UInt8]

    public init(seq: Int, apdu: [UInt8]) {
        self.seq = seq
        self.apdu = apdu
    }

    public func json() -> String {
        RelayJSONValue.object(["type": .string("answer"), "seq": .int(seq), "apdu": .string(Hex.encode(apdu))]).text
    }
}

/// What the client may send after its hello.
public enum RelayClientMessage: Sendable, Hashable {
    case answer(RelayAnswer)
    case abort(String)

    public init(json bytes: [UInt8]) throws(RelayError) {
        let all = try RelayMessageParser.parse(bytes)
        let type = try RelayMessageParser.type(of: all)
        switch type {
        case "answer":
            let members = try RelayMessageParser.check(all, allowed: ["type", "seq", "apdu"], type: "answer")
            var seq: Int?
            var apdu: [UInt8]?
            for (key, value) in members {
                switch (key, value) {
                case ("seq", .number(let text)): seq = Int(text)
                case ("apdu", .string(let text)):
                    do { apdu = try Hex.decode(text) } catch { throw RelayError(.badMessage, "answer: apdu is not hex") }
                case ("type", _): continue
                default: throw RelayError(.badMessage, "answer: \(key) has the wrong type")
                }
            }
            guard let seq, seq > 0 else { throw RelayError(.badMessage, "answer: seq must be a positive integer") }
            guard let apdu, apdu.count >= 2, apdu.count <= 65538 else {
                throw RelayError(.badMessage, "answer: apdu must be 2 to 65,538 bytes of hex (data and status word)")
            }
            self = .answer(RelayAnswer(seq: seq, apdu: apdu))
        case "abort":
            let members = try RelayMessageParser.check(all, allowed: ["type", "reason"], type: "abort")
            var reason = "the client ended the session"
            if let (_, value) = members.first(where: { $0.0 == "reason" }), case .string(let text) = value {
                reason = String(text.prefix(200))
            }
            self = .abort(reason)
        default:
            throw RelayError(.badMessage, "a client sends hello, then answer or abort messages, not \"\(type.prefix(32))\"")
        }
    }

    public func json() -> String {
        switch self {
        case .answer(let answer): return answer.json()
        case .abort(let reason): return RelayJSONValue.object(["type": .string("abort"), "reason": .string(reason)]).text
        }
    }
}

/// What the server sends.
public enum RelayServerMessage: Sendable, Hashable {
    case command(seq: Int, apdu: [UInt8])
    /// The signed report (compact JWS) and, for the phone's screen, its verdict.
    case result(sid: String, genuine: Bool, verdict: String, report: String)
    case error(RelayError)

    public func json() -> String {
        switch self {
        case .command(let seq, let apdu):
            return RelayJSONValue.object(["type": .string("command"), "seq": .int(seq), "apdu": .string(Hex.encode(apdu))]).text
        case .result(let sid, let genuine, let verdict, let report):
            return RelayJSONValue.object([
                "type": .string("result"), "sid": .string(sid), "genuine": .bool(genuine), "verdict": .string(verdict),
                "report": .string(report),
            ]).text
        case .error(let error):
            return RelayJSONValue.object([
                "type": .string("error"), "code": .string(error.code.rawValue), "message": .string(error.message),
            ]).text
        }
    }

    /// Parses what a server sent (the reference client).
    public init(json bytes: [UInt8]) throws(RelayError) {
        let all = try RelayMessageParser.parse(bytes)
        let type = try RelayMessageParser.type(of: all)
        let members = try RelayMessageParser.check(
            all, allowed: ["type", "seq", "apdu", "sid", "genuine", "verdict", "report", "code", "message"], type: type)
        var strings: [String: String] = [:]
        var seq: Int?
        var genuine: Bool?
        for (key, value) in members {
            switch value {
            case .string(let text): strings[key] = text
            case .number(let text) where key == "seq": seq = Int(text)
            case .bool(let b) where key == "genuine": genuine = b
            default: throw RelayError(.badMessage, "\(type): \(key) has the wrong type")
            }
        }
        switch type {
        case "command":
            guard let seq, let hex = strings["apdu"], let apdu = try? Hex.decode(hex), apdu.count >= 4 else {
                throw RelayError(.badMessage, "command: needs seq and apdu (hex, at least 4 bytes)")
            }
            self = .command(seq: seq, apdu: apdu)
        case "result":
            guard let sid = strings["sid"], let genuine, let verdict = strings["verdict"], let report = strings["report"]
            else { throw RelayError(.badMessage, "result: needs sid, genuine, verdict and report") }
            self = .result(sid: sid, genuine: genuine, verdict: verdict, report: report)
        case "error":
            guard let raw = strings["code"], let message = strings["message"] else {
                throw RelayError(.badMessage, "error: needs code and message")
            }
            self = .error(RelayError(RelayError.Code(rawValue: raw) ?? .unavailable, message))
        default:
            throw RelayError(.badMessage, "a server sends command, result or error messages, not \"\(type.prefix(32))\"")
        }
    }
}

/// The strict reading of one message: UTF-8, one JSON object, known fields only, each once.
package enum RelayMessageParser {
    package static func parse(_ bytes: [UInt8]) throws(RelayError) -> [(String, StrictJSON.Value)] {
        guard bytes.count <= RelayProtocol.maxMessageBytes else {
            throw RelayError(.badMessage, "a message of \(bytes.count) bytes (at most \(RelayProtocol.maxMessageBytes))")
        }
        if let bad = firstInvalidUTF8(bytes, in: 0..<bytes.count) {
            throw RelayError(.badMessage, "the message is not UTF-8 (byte \(bad))")
        }
        let root: StrictJSON.Located
        do { root = try StrictJSON.parse(bytes, in: 0..<bytes.count) } catch {
            if let key = error.duplicateKey { throw RelayError(.badMessage, "field \(key.prefix(32)) is given twice") }
            throw RelayError(.badMessage, "the message is not JSON (byte \(error.offset)): \(error.message)")
        }
        guard case .object(let members) = root.value else { throw RelayError(.badMessage, "a message is a JSON object") }
        return members.map { ($0.key, $0.value.value) }
    }

    package static func type(of members: [(String, StrictJSON.Value)]) throws(RelayError) -> String {
        guard let (_, value) = members.first(where: { $0.0 == "type" }), case .string(let type) = value else {
            throw RelayError(.badMessage, "a message has a string field \"type\"")
        }
        return type
    }

    /// The members of a message of `type` (nil: a request body without one), known fields only.
    package static func object(_ bytes: [UInt8], allowed: [String], type: String?) throws(RelayError) -> [(String, StrictJSON.Value)] {
        try check(try parse(bytes), allowed: allowed, type: type)
    }

    /// `members` are of a message of `type` (nil: no type required) and hold only `allowed` fields.
    package static func check(
        _ members: [(String, StrictJSON.Value)], allowed: [String], type: String?
    ) throws(RelayError) -> [(String, StrictJSON.Value)] {
        if let type {
            guard let (_, value) = members.first(where: { $0.0 == "type" }), case .string(let actual) = value, actual == type
            else { throw RelayError(.badMessage, "expected a \(type) message") }
        }
        if let unknown = members.first(where: { !allowed.contains($0.0) }) {
            throw RelayError(.badMessage, "\(type ?? "the body"): unknown field \"\(unknown.0.prefix(32))\"")
        }
        return members
    }
}

/// A small JSON writer for the protocol's messages (sorted keys, so the bytes are stable).
package enum RelayJSONValue {
    case string(String)
    case int(Int)
    case bool(Bool)
    case object([String: RelayJSONValue])
    case raw(String)

    package var text: String {
        switch self {
        case .string(let s): return Self.quote(s)
        case .int(let i): return String(i)
        case .bool(let b): return b ? "true" : "false"
        case .raw(let r): return r
        case .object(let members):
            return "{" + members.keys.sorted().map { "\(Self.quote($0)):\(members[$0]!.text)" }.joined(separator: ",") + "}"
        }
    }

    package static func quote(_ s: String) -> String {
        // Most values (hex, base64, ids) need no escape: copied as they are.
        if s.utf8.allSatisfy({ $0 >= 0x20 && $0 < 0x7F && $0 != UInt8(ascii: "\"") && $0 != UInt8(ascii: "\\") }) {
            return "\"" + s + "\""
        }
        var out = "\""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if scalar.value < 0x20 || scalar.value == 0x2028 || scalar.value == 0x2029 {
                    out += String(format: "\\u%04x", scalar.value)
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out + "\""
    }
}
