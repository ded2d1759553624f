import Verification
/// The OpenAPI document of `cccd serve`, served at /openapi.yaml (the tests hold the responses to it).
enum DeskOpenAPI {
    static let document = #"""
        openapi: 3.0.3
        info:
          title: cccd desk
          version: "1"
          description: |
            The local card service of `cccd serve`: reads and verifies chip ID cards (Vietnam's CCCD and other ICAO 9303
            cards) in the PC/SC readers of this machine for desk software. Every /v1/ call needs
            `Authorization: Bearer <token>` (the token file). Requests whose Host is not the listen address or localhost are
            refused (421); browser origins not allowed with --allow-origin are refused (403).

            The edge, before any route: two Host headers, or an absolute-form target naming another host than Host,
            or Content-Length beside Transfer-Encoding, are 400; a body over 64 KiB is 413 at once (from
            Content-Length, or as a chunked body streams), with `Connection: close`; a request head must arrive within
            --header-timeout seconds (15; an idle connection is closed after as long) and its body within
            --request-timeout (30), else 408; past --max-connections open connections (128) or --max-event-streams
            event streams (32), 503 overloaded with Retry-After. Request bodies are strict JSON: one object, no
            duplicate keys, no field the schema does not name (the error names it). Every answer of the edge is a
            Problem; every operation may get 400, 408 (with a body), 413 (with a body) and 503.
        servers:
          - url: http://127.0.0.1:8731
        security:
          - bearer: []
        paths:
          /v1/readers:
            get:
              summary: The PC/SC readers and their state.
              responses:
                "200":
                  description: The readers.
                  content:
                    application/json:
                      schema: {$ref: "#/components/schemas/Readers"}
                "400": {$ref: "#/components/responses/Problem"}
                "401": {$ref: "#/components/responses/Problem"}
                "503": {$ref: "#/components/responses/Problem"}
          /v1/read:
            post:
              summary: Read a card with the key the desk has; waits for a card when none is in the reader.
              requestBody:
                required: true
                content:
                  application/json:
                    schema: {$ref: "#/components/schemas/ReadRequest"}
              responses:
                "200":
                  description: "The report (genuine or not: see genuine, valid and checks)."
                  content:
                    application/json:
                      schema: {$ref: "#/components/schemas/CardReport"}
                "400": {$ref: "#/components/responses/Problem"}
                "401": {$ref: "#/components/responses/Problem"}
                "403": {$ref: "#/components/responses/Problem"}
                "404": {$ref: "#/components/responses/Problem"}
                "408": {$ref: "#/components/responses/Problem"}
                "409": {$ref: "#/components/responses/Problem"}
                "413": {$ref: "#/components/responses/Problem"}
                "422": {$ref: "#/components/responses/Problem"}
                "502": {$ref: "#/components/responses/Problem"}
                "503": {$ref: "#/components/responses/Problem"}
                "504": {$ref: "#/components/responses/Problem"}
          /v1/read/cancel:
            post:
              summary: Cancel a read still waiting for a card (the requestId its request gave); it answers 409 cancelled.
              requestBody:
                required: true
                content:
                  application/json:
                    schema:
                      type: object
                      required: [requestId]
                      additionalProperties: false
                      properties:
                        requestId: {type: string, minLength: 1, maxLength: 128}
              responses:
                "200":
                  description: The cancellation is recorded.
                  content:
                    application/json:
                      schema:
                        type: object
                        required: [cancelled]
                        properties:
                          cancelled: {type: string}
                "400": {$ref: "#/components/responses/Problem"}
                "401": {$ref: "#/components/responses/Problem"}
                "408": {$ref: "#/components/responses/Problem"}
                "413": {$ref: "#/components/responses/Problem"}
                "503": {$ref: "#/components/responses/Problem"}
          /v1/reads/latest:
            get:
              summary: The most recent report, while it is kept and its card is still in its reader.
              responses:
                "200":
                  description: The report.
                  content:
                    application/json:
                      schema: {$ref: "#/components/schemas/CardReport"}
                "400": {$ref: "#/components/responses/Problem"}
                "401": {$ref: "#/components/responses/Problem"}
                "404": {$ref: "#/components/responses/Problem"}
                "503": {$ref: "#/components/responses/Problem"}
          /v1/reads/{id}:
            get:
              summary: A report, while it is kept (then erased).
              parameters:
                - {name: id, in: path, required: true, schema: {type: string}}
              responses:
                "200":
                  description: The report.
                  content:
                    application/json:
                      schema: {$ref: "#/components/schemas/CardReport"}
                "400": {$ref: "#/components/responses/Problem"}
                "401": {$ref: "#/components/responses/Problem"}
                "404": {$ref: "#/components/responses/Problem"}
                "503": {$ref: "#/components/responses/Problem"}
          /v1/reads/{id}/portrait:
            get:
              summary: The holder's portrait from DG2 (JPEG as read; JPEG 2000 decoded to PNG).
              parameters:
                - {name: id, in: path, required: true, schema: {type: string}}
              responses:
                "200":
                  description: The image.
                  content:
                    image/jpeg: {schema: {type: string, format: binary}}
                    image/png: {schema: {type: string, format: binary}}
                "400": {$ref: "#/components/responses/Problem"}
                "401": {$ref: "#/components/responses/Problem"}
                "404": {$ref: "#/components/responses/Problem"}
                "422":
                  description: "portraitUnavailable: the portrait's header is outside the image bounds, or it does not decode (the report's portrait.problem says which)."
                  content:
                    application/json:
                      schema: {$ref: "#/components/schemas/Problem"}
                "503": {$ref: "#/components/responses/Problem"}
          /v1/events:
            get:
              summary: "Server-Sent Events: cardInserted, cardRemoved, readStarted, readProgress, reportReady, readFailed, reportCleared."
              description: |
                Each event is `event: NAME` and `data: JSON`; the data of each name is the schema of the same name under
                components/schemas (EventReader, EventReadStarted, EventReadProgress, EventReportReady, EventReadFailed,
                EventReportCleared). reportCleared says a report must leave the screen: its card left the reader
                (reason cardRemoved) or its lifetime ended (reason expired). A comment line every 15 s keeps the stream
                open.
              responses:
                "200":
                  description: The event stream.
                  content:
                    text/event-stream: {schema: {type: string}}
                "400": {$ref: "#/components/responses/Problem"}
                "401": {$ref: "#/components/responses/Problem"}
                "503":
                  description: "overloaded: --max-event-streams streams are open (Retry-After says when to try again)."
                  content:
                    application/json:
                      schema: {$ref: "#/components/schemas/Problem"}
        components:
          securitySchemes:
            bearer: {type: http, scheme: bearer}
          responses:
            Problem:
              description: Why there is no answer.
              content:
                application/json:
                  schema: {$ref: "#/components/schemas/Problem"}
          schemas:
            Problem:
              type: object
              required: [error]
              additionalProperties: false
              properties:
                error:
                  type: object
                  required: [code, message]
                  additionalProperties: false
                  properties:
                    code:
                      type: string
                      enum: [badRequest, unauthorized, forbiddenOrigin, misdirected, notFound, unknownReader, noCard,
                        noReader, accessDenied, cardRemoved, cardError, busy, cancelled, portraitUnavailable,
                        payloadTooLarge, requestTimeout, overloaded]
                    message: {type: string}
            Readers:
              type: object
              required: [readers]
              additionalProperties: false
              properties:
                readers:
                  type: array
                  items:
                    type: object
                    required: [name, cardPresent, state]
                    additionalProperties: false
                    properties:
                      name: {type: string}
                      cardPresent: {type: boolean}
                      state: {type: string, enum: [empty, card, reading]}
            ReadRequest:
              type: object
              description: Exactly one key - can, idNumber, qr, mrz, or documentNumber with dateOfBirth and dateOfExpiry.
              additionalProperties: false
              properties:
                reader: {type: string}
                can: {type: string, pattern: "^[0-9]{1,10}$"}
                idNumber: {type: string, pattern: "^[0-9]{12}$"}
                qr: {type: string, description: "ID12|oldID|name|DDMMYYYY|sex|address|DDMMYYYY"}
                mrz: {type: string}
                documentNumber: {type: string}
                dateOfBirth: {type: string, description: YYMMDD or YYYY-MM-DD}
                dateOfExpiry: {type: string, description: YYMMDD or YYYY-MM-DD}
                fields: {type: string, enum: [basic, all], default: all}
                wait: {type: number, minimum: 0, maximum: 300, default: 30}
                requestId: {type: string, maxLength: 128, description: "A name for this request, to cancel it (POST /v1/read/cancel)."}
            Verdict:
              type: object
              required: [status, reason]
              additionalProperties: false
              properties:
                status: {type: string, enum: [passed, failed, notChecked]}
                reason: {type: string}
            CardReport:
              type: object
              description: The object `cccd read --json` prints (plus readId and portraitURL from the service).
              required: [holder, document, checks, notes, files, skipped, apdus, bytes, unreadable, problems, genuine,
                valid, authenticity, reasons, verdict, exitCode]
              additionalProperties: false
              properties:
                holder:
                  type: object
                  additionalProperties: false
                  properties:
                    idNumber: {type: string}
                    fullName: {type: string}
                    dateOfBirth: {type: string}
                    sex: {type: string}
                    nationality: {type: string}
                    ethnicity: {type: string}
                    religion: {type: string}
                    placeOfOrigin: {type: string}
                    placeOfResidence: {type: string}
                    identifyingMarks: {type: string}
                    dateOfIssue: {type: string}
                    dateOfExpiry: {type: string}
                    fatherName: {type: string}
                    motherName: {type: string}
                    spouseName: {type: string}
                    oldIdNumber: {type: string}
                document:
                  type: object
                  additionalProperties: false
                  properties:
                    documentNumber: {type: string}
                    dateOfExpiry: {type: string}
                    mrz: {type: string}
                accessControl: {type: string}
                checks:
                  type: object
                  required: [passiveAuthentication, chipAuthentication, activeAuthentication, terminalAuthentication,
                    documentValidity, recordConsistency]
                  additionalProperties: {$ref: "#/components/schemas/Verdict"}
                notes: {type: array, items: {type: string}}
                files: {type: object, additionalProperties: {type: integer}}
                skipped: {type: object, additionalProperties: {type: string}}
                unreadable: {type: object, additionalProperties: {type: string}}
                apdus: {type: integer}
                bytes: {type: integer}
                problems: {type: array, items: {type: string}}
                genuine: {type: boolean}
                valid: {type: boolean}
                authenticity: {type: string, enum: [genuine, signerUnverified, notGenuine]}
                reasons: {type: array, items: {type: string}}
                verdict: {type: string}
                exitCode: {type: integer}
                portrait:
                  type: object
                  required: [format, width, height]
                  additionalProperties: false
                  properties:
                    format: {type: string, enum: [JPEG, JPEG2000, WSQ]}
                    width: {type: integer}
                    height: {type: integer}
                    problem:
                      type: string
                      description: "Why the portrait cannot be shown (\"portrait cannot be shown: …\"): its header is outside the image bounds or it does not decode. Then there is no portraitURL."
                portraitURL: {type: string}
                readId: {type: string}
                reader: {type: string, description: The reader the card was in.}
                readAt: {type: string, format: date-time, description: "When it was read (ISO 8601 with the zone offset)."}
                expiresAt: {type: string, format: date-time, description: When the service erases the report.}
            EventReader:
              type: object
              description: cardInserted and cardRemoved.
              required: [reader]
              additionalProperties: false
              properties:
                reader: {type: string}
            EventReadStarted:
              type: object
              required: [reader, id]
              additionalProperties: false
              properties:
                reader: {type: string}
                id: {type: string}
            EventReadProgress:
              type: object
              required: [reader, id, step]
              additionalProperties: false
              properties:
                reader: {type: string}
                id: {type: string}
                step: {type: string}
            EventReportReady:
              type: object
              required: [reader, id, report]
              additionalProperties: false
              properties:
                reader: {type: string}
                id: {type: string}
                report: {$ref: "#/components/schemas/CardReport"}
            EventReadFailed:
              type: object
              required: [reader, id, error]
              additionalProperties: false
              properties:
                reader: {type: string}
                id: {type: string}
                error:
                  type: object
                  required: [code, message]
                  properties:
                    code: {type: string}
                    message: {type: string}
            EventReportCleared:
              type: object
              required: [reader, id, reason]
              additionalProperties: false
              properties:
                reader: {type: string}
                id: {type: string}
                reason: {type: string, enum: [cardRemoved, expired]}
        """#
}
