import COpenSSL

/// Hash functions of FIPS 180-4, through OpenSSL's EVP digest API.
public enum HashAlgorithm: String, CaseIterable, Hashable, Sendable {
    case sha1 = "SHA-1"
    case sha224 = "SHA-224"
    case sha256 = "SHA-256"
    case sha384 = "SHA-384"
    case sha512 = "SHA-512"

    public var digestLength: Int {
        switch self {
        case .sha1: return 20
        case .sha224: return 28
        case .sha256: return 32
        case .sha384: return 48
        case .sha512: return 64
        }
    }

    var md: OpaquePointer {
        switch self {
        case .sha1: return EVP_sha1()
        case .sha224: return EVP_sha224()
        case .sha256: return EVP_sha256()
        case .sha384: return EVP_sha384()
        case .sha512: return EVP_sha512()
        }
    }

    /// The digest of the concatenation of `parts`.
    public func hash(_ parts: [UInt8]...) -> [UInt8] { hash(parts: parts) }

    public func hash(parts: [[UInt8]]) -> [UInt8] {
        let context = DigestContext(self)
        for part in parts { context.update(part) }
        return context.finish()
    }

    public func hash(_ data: ArraySlice<UInt8>) -> [UInt8] {
        let context = DigestContext(self)
        context.update(data)
        return context.finish()
    }
}

/// Owns one `EVP_MD_CTX` for an incremental digest.
public final class DigestContext {
    private let ctx: OpaquePointer
    public let algorithm: HashAlgorithm

    public init(_ algorithm: HashAlgorithm) {
        guard let ctx = EVP_MD_CTX_new() else { preconditionFailure("EVP_MD_CTX_new: out of memory") }
        self.ctx = ctx
        self.algorithm = algorithm
        precondition(EVP_DigestInit_ex(ctx, algorithm.md, nil) == 1, "EVP_DigestInit_ex failed")
    }

    deinit { EVP_MD_CTX_free(ctx) }

    public func update(_ data: some Collection<UInt8>) {
        let done: Bool? = data.withContiguousStorageIfAvailable { buffer in
            EVP_DigestUpdate(ctx, buffer.baseAddress, buffer.count) == 1
        }
        if let done {
            precondition(done, "EVP_DigestUpdate failed")
        } else {
            let copy = Array(data)
            precondition(EVP_DigestUpdate(ctx, copy, copy.count) == 1, "EVP_DigestUpdate failed")
        }
    }

    /// The digest; the context starts over for the next message.
    public func finish() -> [UInt8] {
        var out = [UInt8](repeating: 0, count: Int(EVP_MAX_MD_SIZE))
        var length: UInt32 = 0
        precondition(EVP_DigestFinal_ex(ctx, &out, &length) == 1, "EVP_DigestFinal_ex failed")
        precondition(EVP_DigestInit_ex(ctx, algorithm.md, nil) == 1, "EVP_DigestInit_ex failed")
        return Array(out[..<Int(length)])
    }
}
