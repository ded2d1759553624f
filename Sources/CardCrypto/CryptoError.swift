import CCryptoShim

/// A cryptographic operation that failed. Reasons never contain key material.
public struct CryptoError: Error, Hashable, Sendable, CustomStringConvertible {
    public enum Code: String, Hashable, Sendable, CustomStringConvertible {
        case invalidKeyLength, invalidInputLength, invalidPadding, unsupportedAlgorithm, invalidKey, invalidSignature, invalidEncoding, library
        public var description: String { rawValue }
    }

    public let code: Code
    public let reason: String

    public init(code: Code, reason: String) {
        self.code = code
        self.reason = reason
    }

    public var description: String { "crypto error (\(code)): \(reason)" }

    static func invalidKeyLength(_ got: Int, expected: String) -> CryptoError {
        CryptoError(code: .invalidKeyLength, reason: "key of \(got) bytes, expected \(expected)")
    }
    static func invalidInputLength(_ got: Int, blockSize: Int) -> CryptoError {
        CryptoError(code: .invalidInputLength, reason: "\(got) bytes is not a multiple of the \(blockSize)-byte block")
    }
    static func invalidPadding() -> CryptoError {
        CryptoError(code: .invalidPadding, reason: "ISO/IEC 9797-1 padding method 2 not found")
    }

    /// The OpenSSL error queue's oldest entry, for a call that failed.
    static func library(_ call: String) -> CryptoError {
        var buffer = [CChar](repeating: 0, count: 256)
        cccd_last_error(&buffer, buffer.count)
        let text = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return CryptoError(code: .library, reason: "\(call) failed: \(text)")
    }
}
