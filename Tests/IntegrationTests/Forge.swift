import CardCore
import CardCrypto
import CardEmulator
import ChipAccess
import ChipImage
import Foundation
import Glibc
import LDS
import Personalization
import Reader
import TestSupport
import Testing
import Verification

/// A genuine card from a test issuer (the sample record, with a small DG2 so that every truncation of every
/// file can be read in the suite), and the changes an attacker makes to it.
struct Forge {
    static let folder = VectorFile.directory + "/sample-card"
    static let today = CalendarDate(year: 2026, month: 11, day: 22)!

    let issuer: Issuer
    let image: CardImage

    /// `cam`: EF.CardAccess offers PACE-CAM (with the CA key of DG14) instead of PACE-GM.
    init(issuer: Issuer? = nil, cam: Bool = false, record change: (inout CitizenRecord) -> Void = { _ in }) throws {
        let issuer = try issuer ?? Issuer()
        var record = try JSONDecoder().decode(
            CitizenRecord.self, from: Data(contentsOf: URL(fileURLWithPath: Self.folder + "/record.json")))
        change(&record)
        let prepared = try DataPreparation.prepare(
            record, signer: issuer.signer, baseDirectory: Self.folder,
            validator: RecordValidator(today: CalendarDate(iso: record.dateOfIssue) ?? Self.today))
        self.issuer = issuer
        var files = prepared.lDSFiles
        // A 64-byte "portrait": the reader does not decode DG2, and a small file keeps the truncation runs short.
        files[.dataGroup(2)] = TLVWriter.encode(tag: 0x75, value: [UInt8](repeating: 0x5A, count: 64))
        // And a 64-byte stand-in for the fingerprints (DG3, read only with a terminal: `read(terminal: true)`).
        if files[.dataGroup(3)] != nil {
            files[.dataGroup(3)] = TLVWriter.encode(tag: 0x63, value: [UInt8](repeating: 0x3C, count: 64))
        }
        if cam {
            files[.cardAccess] = try SecurityInfos([
                .pace(
                    PACEInfo(
                        protocol: PACEProtocol(mapping: .chipAuthentication, agreement: .ecdh, cipher: .aes128),
                        parameterID: 13))
            ]).derEncoded()
        }
        image = try Self.resign(Self.rebuilt(prepared, files: files), signer: issuer.signer)
    }

    /// `image` holding exactly `files` (EF.SOD as given).
    static func rebuilt(_ image: CardImage, files: [LDSFile: [UInt8]]) -> CardImage {
        var copy = image
        // A card built by hand: what it runs comes from its files (no typed settings to contradict them).
        copy.chip = nil
        let fresh = CardImage.eMRTD(files: files, bac: nil, aid: image.applications.first?.aid ?? [])
        copy.masterFiles = fresh.masterFiles
        copy.applications = fresh.applications
        return copy
    }

    /// EF.SOD signed anew over every data group of `image` (or over `groups`).
    static func resign(_ image: CardImage, signer: DocumentSigner, groups: [Int: [UInt8]]? = nil) throws -> CardImage {
        var files = image.lDSFiles
        var signed: [Int: [UInt8]] = [:]
        for (file, bytes) in files { if let n = file.dataGroupNumber { signed[n] = bytes } }
        let sod = try SecurityObjectDocument.sign(
            LDSSecurityObject(hashing: groups ?? signed, with: .sha256), signer: signer.certificate, key: signer.key,
            signatureHash: .sha256)
        files[.sod] = sod.encoded
        return rebuilt(image, files: files)
    }

    /// The genuine card with `changes` (nil removes a file); EF.SOD stays the issuer's.
    func changing(_ changes: [LDSFile: [UInt8]?]) -> CardImage {
        var files = image.lDSFiles
        for (file, bytes) in changes { files[file] = bytes }
        return Self.rebuilt(image, files: files)
    }

    /// The card with `changes`, EF.SOD signed anew by `signer` (the issuer's own by default): what an insider, or
    /// an attacker who has the issuer's key, could make.
    func resigned(_ changes: [LDSFile: [UInt8]?], signer: DocumentSigner? = nil) throws -> CardImage {
        try Self.resign(changing(changes), signer: signer ?? issuer.signer)
    }

    /// A document signer made by openssl (an independent implementation) under the issuer's CSCA, with exactly these
    /// extension lines (openssl's config syntax) besides the key identifiers.
    static func opensslSigner(issuer: Issuer, extensions: [String]) throws -> DocumentSigner {
        let folder = NSTemporaryDirectory() + "cccdkit-ds-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let key = try AsymmetricKey.generateEC(.brainpoolP256r1)
        try Data(try key.privateKeyDER()).write(to: URL(fileURLWithPath: folder + "/ds.der"))
        try Data(try issuer.cscaKey.privateKeyDER()).write(to: URL(fileURLWithPath: folder + "/csca.der"))
        try Data(issuer.csca.pem.utf8).write(to: URL(fileURLWithPath: folder + "/csca.pem"))
        let config = (["[ds]", "subjectKeyIdentifier=hash", "authorityKeyIdentifier=keyid"] + extensions)
            .joined(separator: "\n") + "\n"
        try Data(config.utf8).write(to: URL(fileURLWithPath: folder + "/ext.cnf"))
        let openssl = "/usr/bin/openssl"
        let request = try CommandLineRunner.tool(
            openssl,
            ["req", "-new", "-key", "ds.der", "-keyform", "DER", "-subj", "/C=VN/O=Test/CN=DS by openssl", "-out", "ds.csr"],
            in: folder)
        try #require(request.status == 0, "\(request.stderr)")
        let signed = try CommandLineRunner.tool(
            openssl,
            [
                "x509", "-req", "-in", "ds.csr", "-CA", "csca.pem", "-CAkey", "csca.der", "-CAkeyform", "DER",
                "-set_serial", "77", "-days", "365", "-sha384", "-extfile", "ext.cnf", "-extensions", "ds", "-out",
                "ds.pem",
            ], in: folder)
        try #require(signed.status == 0, "\(signed.stderr)")
        let pem = try [UInt8](Data(contentsOf: URL(fileURLWithPath: folder + "/ds.pem")))
        let certificate = try #require(Certificate.fromPEM(pem).first)
        return DocumentSigner(certificate: certificate, key: key)
    }

    /// EF.COM listing exactly these data groups.
    static func com(_ groups: [Int]) -> [UInt8] { EFCOM(dataGroups: groups.map { .dataGroup($0) }).encoded }

    var trust: TrustStore { TrustStore(anchors: [issuer.csca]) }

    /// Reads `image` in-process with the sample CAN; returns the result and the thread's CPU time for the read.
    /// `readsEFCOM`: EF.COM too (to see its list disagree with EF.SOD's).
    /// `terminal`: as an inspection system (Terminal Authentication, then DG3).
    func read(
        _ image: CardImage, trusted: Bool = true, today: CalendarDate = Forge.today, readsEFCOM: Bool = false,
        terminal: Bool = false
    )
        throws -> (ReadResult, Duration)
    {
        let chip = try EmulatedChip(image: image)
        let start = Self.threadCPUTime()
        var options = ReadOptions(trust: trusted ? trust : nil, today: today)
        options.readsEFCOM = readsEFCOM
        if terminal { options.terminal = try issuer.terminal }
        let result = try ReaderSession(transport: chip).readCard(.can("000000"), options: options)
        return (result, Self.threadCPUTime() - start)
    }

    /// CPU time of the calling thread (not wall time: other tests run in parallel on the same cores).
    static func threadCPUTime() -> Duration {
        var ts = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts)
        return .seconds(ts.tv_sec) + .nanoseconds(ts.tv_nsec)
    }

    /// Writes `image` as card JSON to a temporary file.
    static func write(_ image: CardImage, name: String) throws -> String {
        let path = NSTemporaryDirectory() + "cccdkit-\(name)-\(UUID().uuidString).json"
        try image.json().write(to: URL(fileURLWithPath: path))
        return path
    }

    /// The trust anchor as a PEM file for the command line.
    func writeTrust() throws -> String {
        let path = NSTemporaryDirectory() + "cccdkit-csca-\(UUID().uuidString).pem"
        try Data(issuer.csca.pem.utf8).write(to: URL(fileURLWithPath: path))
        return path
    }
}
