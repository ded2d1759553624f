import CardCrypto
import ChipAccess
import Foundation

/// The bearer token every API call needs: random, made on first start and written to a file only its owner can
/// read (0600); a token file others can read is refused.
public struct AccessToken: Sendable {
    public let value: String
    /// What the audit log names the token by: the first 12 hex digits of its SHA-256 (never the token).
    public let id: String

    public init(value: String) {
        self.value = value
        id = HashAlgorithm.sha256.hash(Array(value.utf8)).prefix(6).map { String(format: "%02x", $0) }.joined()
    }

    /// Reads the token from `path`, or makes one there (0600) when the file does not exist.
    public static func loadOrCreate(path: String) throws -> (token: AccessToken, created: Bool) {
        let fm = FileManager.default
        if fm.fileExists(atPath: path) {
            var info = stat()
            guard stat(path, &info) == 0 else { throw DeskError(.badRequest, "cannot stat the token file \(path)") }
            guard info.st_mode & 0o077 == 0 else {
                throw DeskError(
                    .badRequest,
                    "the token file \(path) can be read by others (mode \(String(info.st_mode & 0o777, radix: 8))): chmod 600 it"
                )
            }
            let text = try String(contentsOfFile: path, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
            guard text.count >= 32 else {
                throw DeskError(.badRequest, "the token in \(path) is shorter than 32 characters")
            }
            return (AccessToken(value: text), false)
        }
        let folder = URL(fileURLWithPath: path).deletingLastPathComponent()
        if !fm.fileExists(atPath: folder.path) {
            try fm.createDirectory(
                at: folder, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        }
        let bytes = try SystemRandom().bytes(32)
        let value = bytes.map { String(format: "%02x", $0) }.joined()
        // O_EXCL: two desks starting at once never overwrite each other's token.
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0o600)
        guard fd >= 0 else { throw DeskError(.badRequest, "cannot create the token file \(path) (errno \(errno))") }
        defer { close(fd) }
        let line = Array((value + "\n").utf8)
        guard write(fd, line, line.count) == line.count else {
            throw DeskError(.badRequest, "cannot write the token file \(path)")
        }
        return (AccessToken(value: value), true)
    }

    /// Constant-time comparison of an `Authorization` header's bearer token with this one.
    public func accepts(authorization: String?) -> Bool {
        guard let authorization, authorization.lowercased().hasPrefix("bearer ") else { return false }
        let given = Array(authorization.dropFirst(7).trimmingCharacters(in: .whitespaces).utf8)
        let expected = Array(value.utf8)
        var difference = UInt8(given.count == expected.count ? 0 : 1)
        for i in 0..<expected.count { difference |= expected[i] ^ (i < given.count ? given[i] : 0) }
        return difference == 0
    }
}
