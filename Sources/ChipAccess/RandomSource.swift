import CardCrypto

/// Where protocol nonces and ephemeral keys come from. `SystemRandom` in production; tests inject the worked
/// examples' values with `FixedRandom`.
public protocol RandomSource: AnyObject {
    func bytes(_ count: Int) throws -> [UInt8]
}

public final class SystemRandom: RandomSource {
    public init() {}
    public func bytes(_ count: Int) throws -> [UInt8] { try SecureRandom.bytes(count) }
}

/// Hands out fixed byte strings in order, as given (a private key may carry a leading zero byte, as published
/// worked examples often do; nonces must have the asked length).
public final class FixedRandom: RandomSource {
    private var queue: [[UInt8]]
    public init(_ values: [[UInt8]]) { queue = values }
    public func bytes(_ count: Int) throws -> [UInt8] {
        guard let next = queue.first, next.count >= count else {
            throw AccessControlError(code: .unsupported, reason: "fixed random source has no \(count)-byte value left")
        }
        queue.removeFirst()
        return next
    }
}
