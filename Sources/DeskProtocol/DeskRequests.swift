import CardCore

/// A read a desk asks for: which reader (any with a card when absent), one key (the CAN, the 12-digit ID number,
/// the QR text, the MRZ lines, or the document number with the dates of birth and expiry), which fields, and how
/// long to wait for a card (a key given before the card is inserted is used the moment the card arrives).
public struct DeskReadRequest: Codable, Sendable, Hashable {
    public var reader: String?
    public var can: String?
    public var idNumber: String?
    public var qr: String?
    public var mrz: String?
    public var documentNumber: String?
    public var dateOfBirth: String?
    public var dateOfExpiry: String?
    /// "basic" (DG1, DG13: a check-in) or "all" (the default: every data group, the portrait among them).
    public var fields: String?
    /// Seconds to wait for a card (default 30, at most 300).
    public var wait: Double?
    /// The caller's name for this request, to cancel it while it waits for a card (`POST /v1/read/cancel`).
    public var requestId: String?

    public init(reader: String? = nil, can: String? = nil, idNumber: String? = nil, qr: String? = nil) {
        self.reader = reader
        self.can = can
        self.idNumber = idNumber
        self.qr = qr
    }

    /// The fields a read request takes (any other is refused by name).
    public static let fieldNames = [
        "reader", "can", "idNumber", "qr", "mrz", "documentNumber", "dateOfBirth", "dateOfExpiry", "fields", "wait",
        "requestId",
    ]

    /// Reads a request body strictly: one JSON object (RFC 8259, no duplicate keys), only the fields above, each
    /// of its type (null is the same as absent). Errors name the field, never its value.
    public init(json bytes: [UInt8]) throws(DeskBodyError) {
        let members = try DeskBodyError.object(bytes, allowed: Self.fieldNames, what: "a read request")
        self.init()
        for member in members {
            let value = member.value.value
            if case .null = value { continue }
            if member.key == "wait" {
                guard case .number(let text) = value, let number = Double(text) else {
                    throw DeskBodyError("field wait must be a number of seconds")
                }
                wait = number
                continue
            }
            guard case .string(let text) = value else { throw DeskBodyError("field \(member.key) must be a string") }
            switch member.key {
            case "reader": reader = text
            case "can": can = text
            case "idNumber": idNumber = text
            case "qr": qr = text
            case "mrz": mrz = text
            case "documentNumber": documentNumber = text
            case "dateOfBirth": dateOfBirth = text
            case "dateOfExpiry": dateOfExpiry = text
            case "fields": fields = text
            default: requestId = text
            }
        }
    }
}

/// `POST /v1/read/cancel`: the request id of a read waiting for a card.
public struct DeskCancelRequest: Sendable, Hashable {
    public var requestId: String

    public init(json bytes: [UInt8]) throws(DeskBodyError) {
        let members = try DeskBodyError.object(bytes, allowed: ["requestId"], what: "a cancel request")
        guard let member = members.first, case .string(let id) = member.value.value, !id.isEmpty, id.utf8.count <= 128
        else { throw DeskBodyError("the body must be {\"requestId\": \"…\"} (1…128 bytes)") }
        requestId = id
    }
}

/// Why a request body was refused, in the client's terms (the field and what is wrong; values are never echoed).
public struct DeskBodyError: Error, Hashable, Sendable, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }

    /// The members of the one JSON object `bytes` holds, every key among `allowed`.
    static func object(_ bytes: [UInt8], allowed: [String], what: String) throws(DeskBodyError) -> [StrictJSON.Member] {
        if let bad = firstInvalidUTF8(bytes, in: 0..<bytes.count) {
            throw DeskBodyError("the body is not UTF-8 (byte \(bad))")
        }
        let root: StrictJSON.Located
        do { root = try StrictJSON.parse(bytes, in: 0..<bytes.count) } catch {
            if let key = error.duplicateKey { throw DeskBodyError("field \(key) is given twice") }
            throw DeskBodyError("the body is not JSON (byte \(error.offset)): \(error.message)")
        }
        guard case .object(let members) = root.value else { throw DeskBodyError("the body must be \(what) (a JSON object)") }
        if let unknown = members.first(where: { !allowed.contains($0.key) }) {
            let key = unknown.key.count > 64 ? String(unknown.key.prefix(64)) + "…" : unknown.key
            throw DeskBodyError(
                "unknown field \"\(key)\" (\(what) takes \(allowed.joined(separator: ", ")))")
        }
        return members
    }
}
