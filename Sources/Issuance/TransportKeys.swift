import CardCrypto
import ChipAccess
import Foundation

/// Where a chip's SCP03 static keys come from (the `secure` command set): the batch's transport master key in a
/// PKCS#11 token that diversifies it without letting it out (`PKCS11TransportKeys`), or, for development, in a key
/// file (`SoftwareTransportKeys`). The line never holds the master key itself, only a provider.
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

    /// Puts this key in a token (sensitive, never extractable) under `label`: a key file's key moved to an HSM.
    public func store(in token: PKCS11Token, label: String) throws(PKCS11Error) {
        try token.importAESKey(master, label: label)
    }

    /// Never the key.
    public var description: String { "transport master key in software (AES-\(master.count * 8), <redacted>)" }
}

/// The batch master key in a PKCS#11 token (SoftHSM2, an HSM): an AES key that is sensitive and never extractable;
/// each chip's keys are diversified by AES-CMAC computed inside the token (Amendment D's KDF, CKM_AES_CMAC), so the
/// master never reaches the host. The derived static keys of the chip in hand are the only keys the host sees.
public final class PKCS11TransportKeys: TransportKeyProvider, @unchecked Sendable {
    private let token: PKCS11Token
    private let label: String
    private let length: Int
    private let lock = NSLock()

    /// `token` logged in; `label` the AES key's label.
    public init(token: PKCS11Token, label: String) throws(PKCS11Error) {
        self.token = token
        self.label = label
        length = try token.selectSecretKey(label: label)
    }

    public func staticKeys(serial: [UInt8]) throws -> SCP03.StaticKeys {
        try lock.withLock {
            try SCP03.StaticKeys.diversified(masterBytes: length, diversificationData: serial) { data in
                try token.cmac(data)
            }
        }
    }

    public var description: String {
        "transport master key \"\(label)\" in the PKCS#11 token \"\(token.tokenLabel)\" (AES-\(length * 8), not extractable)"
    }
}
