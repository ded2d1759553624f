import CardCrypto

/// EF.CardSecurity (BSI TR-03110-3 §A.1.2, ICAO 9303-11 §9.2.1): SecurityInfos signed by a document signer
/// in CMS SignedData (eContentType id-SecurityObject), for PACE-CAM and Chip Authentication in the MF.
public struct CardSecurity: Hashable, Sendable {
    /// id-SecurityObject 0.4.0.127.0.7.3.2.1.
    public static let contentType = "0.4.0.127.0.7.3.2.1"

    /// The CMS ContentInfo (the whole file).
    public var cms: [UInt8]

    public init(cms: [UInt8]) { self.cms = cms }

    /// Signs `securityInfos` with a document signer.
    public static func sign(
        _ securityInfos: SecurityInfos, signer: Certificate, key: AsymmetricKey, hash: HashAlgorithm = .sha256
    ) throws -> CardSecurity {
        CardSecurity(
            cms: try CMS.sign(
                securityInfos.derEncoded(), contentType: contentType, signer: signer, key: key, hash: hash))
    }

    /// The SecurityInfos inside (not verified).
    public func securityInfos() throws(LDSError) -> SecurityInfos {
        guard let (content, type) = CMS.content(cms), type == Self.contentType else {
            throw LDSError(code: .malformedFile, field: "EF.CardSecurity", reason: "not a signed SecurityInfos object")
        }
        return try SecurityInfos(derEncoded: content)
    }

    /// The signature check, and the signer for chaining to a CSCA.
    public func verifySignature() -> (CMS.SignatureCheck, Certificate?) { CMS.verifySignature(cms) }
}
