import ChipAccess
import Foundation

/// Where a chip's SCP03 static keys come from (the `secure` command set): the batch's transport master key in a
/// file today (`SoftwareTransportKeys`); a PKCS#11 token that derives them without the master leaving it is the
/// next provider. The line never holds the master key itself, only a provider.
public protocol TransportKeyProvider: Sendable, CustomStringConvertible {
    /// The static keys of the chip whose key diversification data (serial) is `serial`.
    func staticKeys(serial: [UInt8]) throws -> SCP03.StaticKeys
}

/// The batch master key in memory (read from a key file): each chip's keys diversified from it on the host.
public struct SoftwareTransportKeys: TransportKeyProvider {
    private let master: [UInt8]

    /// `master`: an AES key (16, 24 or 32 bytes); another length fails at the first chip, as a wrong key does.
    public init(master: [UInt8]) { self.master = master }

    public func staticKeys(serial: [UInt8]) throws -> SCP03.StaticKeys {
        try SCP03.StaticKeys.diversified(master: master, diversificationData: serial)
    }

    /// Never the key.
    public var description: String { "transport master key in software (AES-\(master.count * 8), <redacted>)" }
}
