/// Why a desk read did not give a report, in the desk's terms; `statusCode` is the HTTP status the service answers:
/// the one table from the desk's problems to HTTP statuses (the edge, the guards and the routes all answer through it).
public struct DeskError: Error, CustomStringConvertible, Hashable, Sendable {
    public enum Code: String, Sendable, Codable {
        case badRequest, unauthorized, forbiddenOrigin, misdirected, notFound, unknownReader, noCard, noReader,
            accessDenied, cardRemoved, cardError, busy, cancelled, portraitUnavailable, payloadTooLarge,
            requestTimeout, overloaded
    }
    public var code: Code
    public var message: String
    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }
    public var description: String { message }

    public var statusCode: Int {
        switch code {
        case .badRequest: return 400
        case .unauthorized: return 401
        case .forbiddenOrigin: return 403
        case .notFound, .unknownReader: return 404
        case .busy, .cardRemoved, .cancelled: return 409
        case .misdirected: return 421
        case .accessDenied, .portraitUnavailable: return 422
        case .payloadTooLarge: return 413
        case .requestTimeout: return 408
        case .cardError: return 502
        case .noReader, .overloaded: return 503
        case .noCard: return 504
        }
    }
}
