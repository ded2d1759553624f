/// The built-in card profiles, embedded in the binary so `cccd` finds them wherever it runs. Each text is the
/// file of the same name in `Profiles/` (a test keeps the two identical: edit the YAML, then paste it here).
extension CardProfile {
    public static let builtInYAML: [String: String] = [
        "vn-cccd-2021": #"""
        # Vietnam's chip citizen identity card (CCCD, 2021 issue), as ../shared/CCCD.md describes it.
        # A card profile is data: a new card kind is a new file. Algorithms are settings, never hard-coded.
        name: vn-cccd-2021
        description: Căn cước công dân gắn chip (Vietnam), ICAO 9303 LDS1 on an ID-1 card with a TD1 MRZ
        application: A0000002471001          # eMRTD application identifier
        quirks:
          selectMasterFileUnsupported: true  # SELECT MF (00 A4 00 0C 02 3F00) is answered 6D00
        accessControl:
          bac: true                          # document number = last 9 digits of the 12-digit ID
          pace:
            mapping: GM                      # GM, IM or CAM
            agreement: ECDH                  # ECDH or DH
            cipher: AES-128                  # 3DES, AES-128, AES-192, AES-256
            parameterId: 13                  # brainpoolP256r1
          can: last6OfIdNumber               # no CAN is printed: PACE uses the last 6 digits of the ID
        chipAuthentication:                  # DG14
          agreement: ECDH                    # ECDH (with curve) or DH (with dhGroup: 0, 1 or 2)
          cipher: AES-128
          curve: brainpoolP256r1
          version: 1                         # 1: ICAO (keys from K); 2: TR-03110 v2 (nonce and token)
        activeAuthentication:                # DG15 (reported as RSA on real cards)
          key: rsa2048                       # rsa1024, rsa2048, rsa3072 or an EC curve name
          hash: SHA-1                        # for ECDSA keys: the ecdsa-plain hash in DG14
        securityObject:                      # EF.SOD
          dataGroupHash: SHA-256
          signatureHash: SHA-256
          rsaPSS: false
          version: 0                         # LDSSecurityObject v0 (LDS 1.7) or v1 (LDS 1.8)
        dataGroups: [1, 2, 13, 14, 15]       # DG3 is added when the record has fingerprints
        limits:                              # UTF-8 bytes in DG13, bytes of the portrait
          fullName: 100
          place: 250
          otherText: 100
          portraitBytes: 30000
        """#
    ]

    /// The names of the built-in profiles.
    public static var builtInNames: [String] { builtInYAML.keys.sorted() }

    /// A built-in profile by name (`vn-cccd-2021`), or a YAML file by path (anything with a `/` or ending in
    /// `.yaml`/`.yml`).
    public init(nameOrPath: String) throws {
        if let text = Self.builtInYAML[nameOrPath] {
            try self.init(yaml: text)
        } else if nameOrPath.contains("/") || nameOrPath.hasSuffix(".yaml") || nameOrPath.hasSuffix(".yml") {
            try self.init(contentsOf: nameOrPath)
        } else {
            throw PreparationError(
                reason:
                    "no built-in profile named \(nameOrPath) (built in: \(Self.builtInNames.joined(separator: ", "))); give a path to a YAML file for your own"
            )
        }
    }
}
