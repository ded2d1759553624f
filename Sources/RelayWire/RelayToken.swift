import CardCrypto
import ChipAccess
import Foundation

/// base64url without padding (RFC 7515 §2).
public enum Base64URL {
    public static func encode(_ bytes: [UInt8]) -> String {
        let standard = Data(bytes).base64EncodedData()
        var out = [UInt8]()
        out.reserveCapacity(standard.count)
        for c in standard {
            switch c {
            case UInt8(ascii: "+"): out.append(UInt8(ascii: "-"))
            case UInt8(ascii: "/"): out.append(UInt8(ascii: "_"))
            case UInt8(ascii: "="): continue
            default: out.append(c)
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    public static func decode(_ text: some StringProtocol) -> [UInt8]? {
        guard text.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_") }) else { return nil }
        var s = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        guard s.count % 4 != 1 else { return nil }
        while s.count % 4 != 0 { s += "=" }
        return Data(base64Encoded: s).map { [UInt8]($0) }
    }
}

/// What a session token grants: one read (`sid`, used once), by one client (its rate limit), until `exp`, and, when
/// the bank's back end named the card, only with that card's access key (`card`: a keyed digest, never the key).
public struct RelayTokenClaims: Codable, Sendable, Hashable {
    /// The session's id: random, used once (the audit store refuses it a second time).
    public var sid: String
    /// Who the read is for (the bank's customer or app installation): the unit of rate limits and audit.
    public var client: String
    /// Expiry, seconds since 1970.
    public var exp: Int
    /// HMAC of the access key the session must use (`RelayTokenIssuer.cardBinding`), when the bank named the card.
    public var card: String?
    /// Caps on this session's APDUs and bytes (the server's defaults when absent; never above them).
    public var apdus: Int?
    public var bytes: Int?

    public init(sid: String, client: String, exp: Int, card: String? = nil, apdus: Int? = nil, bytes: Int? = nil) {
        self.sid = sid
        self.client = client
        self.exp = exp
        self.card = card
        self.apdus = apdus
        self.bytes = bytes
    }
}

/// Issues and checks session tokens: `v1.<claims, base64url JSON>.<HMAC-SHA-256, base64url>`, keyed by a secret
/// every instance behind the load balancer shares (`--token-secret FILE`, 32 bytes or more). Stateless: any
/// instance verifies any token; single use is the audit store's unique session id.
public struct RelayTokenIssuer: Sendable {
    let secret: [UInt8]

    public init(secret: [UInt8]) throws(RelayError) {
        guard secret.count >= 32 else {
            throw RelayError(.unavailable, "the token secret must have at least 32 bytes (it has \(secret.count))")
        }
        self.secret = secret
    }

    /// Reads a secret file: raw bytes, or hex / base64 text of 32 bytes or more.
    public init(secretFile path: String) throws(RelayError) {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw RelayError(.unavailable, "cannot read the token secret \(path)")
        }
        let text = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        if let hex = try? [UInt8](hex: text), hex.count >= 32 {
            try self.init(secret: hex)
        } else if let b64 = Data(base64Encoded: text), b64.count >= 32 {
            try self.init(secret: [UInt8](b64))
        } else {
            try self.init(secret: [UInt8](data))
        }
    }

    /// A fresh random session id (128 bits).
    public static func newSessionID() -> String {
        Base64URL.encode((try? SecureRandom.bytes(16)) ?? (0..<16).map { _ in UInt8.random(in: 0...255) })
    }

    public func issue(_ claims: RelayTokenClaims) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let payload = Base64URL.encode([UInt8]((try? encoder.encode(claims)) ?? Data()))
        let signed = "v1." + payload
        return signed + "." + Base64URL.encode(HMAC.authenticate(Array(signed.utf8), key: secret))
    }

    /// A token for one read by `client`, valid for `lifetime` seconds; `card`: the access key it is bound to.
    public func issue(
        client: String, lifetime: TimeInterval = 300, card: AccessKey? = nil, apdus: Int? = nil, bytes: Int? = nil,
        now: Date = Date()
    ) -> (token: String, claims: RelayTokenClaims) {
        let sid = Self.newSessionID()
        let claims = RelayTokenClaims(
            sid: sid, client: client, exp: Int(now.timeIntervalSince1970 + lifetime),
            card: card.map { cardBinding($0, sid: sid) }, apdus: apdus, bytes: bytes)
        return (issue(claims), claims)
    }

    /// Checks the MAC, then the expiry; the claims of a token that verifies.
    public func verify(_ token: String, now: Date = Date()) throws(RelayError) -> RelayTokenClaims {
        guard token.utf8.count <= 2048 else { throw RelayError(.badToken, "the token is too long") }
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3, parts[0] == "v1", let mac = Base64URL.decode(parts[2]) else {
            throw RelayError(.badToken, "not a relay token (v1.claims.mac)")
        }
        let signed = "v1." + parts[1]
        guard constantTimeEquals(mac, HMAC.authenticate(Array(signed.utf8), key: secret)) else {
            throw RelayError(.badToken, "the token does not verify (not issued with this server's secret)")
        }
        guard let payload = Base64URL.decode(parts[1]),
            let claims = try? JSONDecoder().decode(RelayTokenClaims.self, from: Data(payload))
        else { throw RelayError(.badToken, "the token's claims do not parse") }
        guard Double(claims.exp) > now.timeIntervalSince1970 else {
            throw RelayError(.tokenExpired, "the token expired at \(Date(timeIntervalSince1970: Double(claims.exp)))")
        }
        return claims
    }

    /// The card binding of `key` for session `sid`: HMAC over the key's kind and PACE key material, so that the
    /// token names the card without carrying its CAN or MRZ (a 6-digit CAN under a plain hash would be found in a
    /// million tries).
    public func cardBinding(_ key: AccessKey, sid: String) -> String {
        let message = Array("cccd-relay-card|\(sid)|\(key.kind)|".utf8) + key.paceKeyMaterial
        return Base64URL.encode(Array(HMAC.authenticate(message, key: secret).prefix(16)))
    }
}
