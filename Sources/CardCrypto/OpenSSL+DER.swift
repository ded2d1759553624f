import COpenSSL

/// The one place that moves DER between OpenSSL objects and Swift bytes (d2i_… / i2d_… and OPENSSL_free).
enum OpenSSLDER {
    /// Calls a `d2i_…` function on `der`; nil (error queue cleared) when it does not parse.
    static func decode(_ der: [UInt8], _ d2i: (UnsafeMutablePointer<UnsafePointer<UInt8>?>, Int) -> OpaquePointer?)
        -> OpaquePointer?
    {
        let object: OpaquePointer? = der.withUnsafeBufferPointer { buffer in
            var pointer: UnsafePointer<UInt8>? = buffer.baseAddress
            return d2i(&pointer, buffer.count)
        }
        if object == nil { ERR_clear_error() }
        return object
    }

    /// Calls an `i2d_…` function and copies the result out; [] on failure.
    static func encode(_ i2d: (UnsafeMutablePointer<UnsafeMutablePointer<UInt8>?>) -> Int32) -> [UInt8] {
        var out: UnsafeMutablePointer<UInt8>? = nil
        let n = i2d(&out)
        guard n > 0, let out else { return [] }
        defer { CRYPTO_free(out, #fileID, #line) }
        return Array(UnsafeBufferPointer(start: out, count: Int(n)))
    }
}

/// PEM text (RFC 7468) for DER.
enum PEM {
    static func encode(_ der: [UInt8], label: String) -> String {
        let body = Base64.encode(der)
        var lines = ["-----BEGIN \(label)-----"]
        var i = body.startIndex
        while i < body.endIndex {
            let end = body.index(i, offsetBy: 64, limitedBy: body.endIndex) ?? body.endIndex
            lines.append(String(body[i..<end]))
            i = end
        }
        lines.append("-----END \(label)-----")
        return lines.joined(separator: "\n") + "\n"
    }
}
