/// The relay protocol as an AsyncAPI 2.6 document (`GET /relay/v1/asyncapi.json`).
public enum RelayAsyncAPI {
    public static let document = #"""
        {
          "asyncapi": "2.6.0",
          "info": {
            "title": "CCCDKit bank relay",
            "version": "1",
            "description": "The bank's server reads an ICAO 9303 chip (the Vietnamese CCCD first) through a phone that only relays APDUs. One read per WebSocket connection. The phone sends a hello, then answers each command with the card's response APDU, in order, one at a time; the server ends with a result (a signed report, compact JWS) or an error, then closes (1000 normal; 1008 policy: bad message, token, caps, tampering; 1013 try later: rate limit, busy; 1011 server failure). Timeouts: hello 10 s, each answer 10 s, the whole session 60 s (server defaults). Caps: 200 APDUs, 2 MiB per session (a token may lower them). TLS ends at the reverse proxy in front. The token comes from the bank's back end: POST /relay/v1/sessions with Authorization: Bearer <back-end token> and {client, lifetime?, and optionally the card's key as the hello takes it} answers {token, sid, expires, path, cardBound}."
          },
          "servers": {
            "relay": { "url": "{host}", "protocol": "wss", "variables": { "host": { "default": "relay.example.bank" } } }
          },
          "channels": {
            "/relay/v1": {
              "publish": {
                "summary": "What the phone sends",
                "message": { "oneOf": [ { "$ref": "#/components/messages/hello" }, { "$ref": "#/components/messages/answer" }, { "$ref": "#/components/messages/abort" } ] }
              },
              "subscribe": {
                "summary": "What the server sends",
                "message": { "oneOf": [ { "$ref": "#/components/messages/command" }, { "$ref": "#/components/messages/result" }, { "$ref": "#/components/messages/error" } ] }
              }
            }
          },
          "components": {
            "messages": {
              "hello": { "name": "hello", "contentType": "application/json", "payload": {
                "type": "object", "additionalProperties": false, "required": ["type", "version", "token"],
                "properties": {
                  "type": { "const": "hello" }, "version": { "const": 1 },
                  "token": { "type": "string", "maxLength": 2048, "description": "The session token from the bank's back end (POST /relay/v1/sessions): one read, one client, an expiry, optionally one card." },
                  "can": { "type": "string", "pattern": "^[0-9]{1,10}$" },
                  "idNumber": { "type": "string", "pattern": "^[0-9]{12}$" },
                  "qr": { "type": "string", "maxLength": 2048 },
                  "mrz": { "type": "string" },
                  "documentNumber": { "type": "string" }, "dateOfBirth": { "type": "string" }, "dateOfExpiry": { "type": "string" },
                  "extendedLength": { "type": "boolean", "description": "The phone's NFC link passes extended-length APDUs." },
                  "atr": { "type": "string", "pattern": "^([0-9A-Fa-f]{2}){0,33}$" },
                  "client": { "type": "string", "maxLength": 64, "description": "The relay app's name and version (audit)." }
                } } },
              "answer": { "name": "answer", "contentType": "application/json", "payload": {
                "type": "object", "additionalProperties": false, "required": ["type", "seq", "apdu"],
                "properties": {
                  "type": { "const": "answer" },
                  "seq": { "type": "integer", "minimum": 1, "description": "The seq of the command answered: the one the server is waiting for, once." },
                  "apdu": { "type": "string", "description": "The card's response APDU in hex: data and the two status bytes, exactly as the card gave them." }
                } } },
              "abort": { "name": "abort", "contentType": "application/json", "payload": {
                "type": "object", "additionalProperties": false, "required": ["type"],
                "properties": { "type": { "const": "abort" }, "reason": { "type": "string", "maxLength": 200 } } } },
              "command": { "name": "command", "contentType": "application/json", "payload": {
                "type": "object", "required": ["type", "seq", "apdu"],
                "properties": {
                  "type": { "const": "command" }, "seq": { "type": "integer", "minimum": 1 },
                  "apdu": { "type": "string", "description": "The command APDU in hex: send it to the card as is (IsoDep.transceive, NFCISO7816Tag.sendCommand)." }
                } } },
              "result": { "name": "result", "contentType": "application/json", "payload": {
                "type": "object", "required": ["type", "sid", "genuine", "verdict", "report"],
                "properties": {
                  "type": { "const": "result" }, "sid": { "type": "string" }, "genuine": { "type": "boolean" },
                  "verdict": { "type": "string", "description": "One line for the phone's screen." },
                  "report": { "type": "string", "description": "Compact JWS (ES256/ES384/ES512 or PS256; header kid, typ cccd-report+jws) over {iss, sid, client, iat, relay: {apdus, bytes, milliseconds, medianRoundTripMilliseconds, software}, report: the CardReport of cccd read --json, portrait: {mediaType, width, height, data (base64)}}. The bank's back end verifies it with the pinned key (GET /relay/v1/report-key) and checks sid against the token it issued." }
                } } },
              "error": { "name": "error", "contentType": "application/json", "payload": {
                "type": "object", "required": ["type", "code", "message"],
                "properties": {
                  "type": { "const": "error" },
                  "code": { "enum": ["badMessage", "unsupportedVersion", "badToken", "tokenExpired", "tokenUsed", "wrongCard", "rateLimited", "busy", "timeout", "tooManyAPDUs", "tooManyBytes", "tampering", "accessDenied", "cardRemoved", "cardError", "unavailable"] },
                  "message": { "type": "string" }
                } } }
            }
          }
        }
        """#
}
