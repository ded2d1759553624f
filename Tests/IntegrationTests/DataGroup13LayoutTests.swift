import CardCore
import CardEmulator
import Foundation
import LDS
import Personalization
import Reader
import TestSupport
import Testing
import Verification

/// A second DG13 layout is one layout value and one profile YAML: prepared, emulated, read and checked with no
/// other change (the record decoder, validation, DG13, the report's holder and the consistency check follow).
@Suite("A second DG13 layout: one layout value, one profile YAML")
struct DataGroup13LayoutTests {
    /// Another card's DG13: its own version and numbering, the parents and spouse elsewhere, the old ID first.
    static let layout2024 = DataGroup13Layout(
        name: "test-cccd-2024", version: 2,
        fields: [
            .init(1, .text(.idNumber, printable: true)), .init(2, .alwaysText(.oldIdNumber, printable: true)),
            .init(3, .text(.fullName, printable: false)), .init(4, .text(.dateOfBirth, printable: true)),
            .init(5, .text(.sex, printable: false)), .init(6, .text(.placeOfOrigin, printable: false)),
            .init(7, .text(.placeOfResidence, printable: false)), .init(8, .text(.dateOfIssue, printable: true)),
            .init(9, .text(.dateOfExpiry, printable: false)), .init(10, .names([.motherName, .fatherName])),
            .init(11, .alwaysName(.spouseName)), .init(20, .text(.nationality, printable: false)),
            .init(21, .text(.ethnicity, printable: false)), .init(22, .text(.religion, printable: false)),
            .init(23, .text(.identifyingMarks, printable: false)),
        ])

    /// The 2021 profile's YAML with another name and this layout.
    static func profileYAML() throws -> String {
        let base = try String(contentsOfFile: CommandLineRunner.root + "/Profiles/vn-cccd-2021.yaml", encoding: .utf8)
        return base.replacingOccurrences(of: "name: vn-cccd-2021", with: "name: test-cccd-2024")
            + "dataGroup13Layout: test-cccd-2024\n"
    }

    @Test("Prepared with the 2024 layout: DG13 states version 2 and the new numbers; read back, the holder, genuine and consistent")
    func secondLayout() throws {
        try DataGroup13Layout.register(Self.layout2024)
        let profile = try CardProfile(yaml: try Self.profileYAML())
        #expect(profile.dataGroup13Layout == Self.layout2024)
        let record = try GenuineCardTests.record()
        let issuer = try Issuer()
        let image = try DataPreparation.prepare(
            record, profile: profile, signer: issuer.signer, baseDirectory: GenuineCardTests.folder,
            validator: RecordValidator(profile: profile, today: GenuineCardTests.today))
        let bytes = try #require(image.content(of: .dataGroup(13)))
        // The bytes: version 2; field 3 the name (UTF8String), field 10 the mother first.
        let dg13 = try DataGroup13(bytes: bytes)
        #expect(dg13.version == 2 && dg13.layout == Self.layout2024)
        #expect(dg13 == record.dataGroup13(layout: Self.layout2024))
        #expect(dg13.otherFields.isEmpty)
        let inner = try TLV(parsing: bytes).children()[0].children()
        #expect(inner[0].value == [0x02])
        let fields = try inner[2].children().map { try $0.children() }
        var byNumber: [Int: [TLV]] = [:]
        for parts in fields { byNumber[Int(parts[0].value.first ?? 0)] = Array(parts.dropFirst()) }
        #expect(byNumber[3]?.first?.tag.rawValue == 0x0C)
        #expect(byNumber[3].map { String(decoding: $0[0].value, as: UTF8.self) } == record.fullName)
        #expect(byNumber[20].map { String(decoding: $0[0].value, as: UTF8.self) } == record.nationality)
        #expect(byNumber[12] == nil && byNumber[13] == nil && byNumber[16] == nil)
        if let mother = record.motherName {
            #expect(try byNumber[10]?.first?.children().first.map { String(decoding: $0.value, as: UTF8.self) } == mother)
        }
        // The 2021 reading of these bytes would put them elsewhere: the layouts really differ.
        var as2021 = try DataGroup13(bytes: bytes)
        as2021.version = 1
        #expect(try DataGroup13(bytes: as2021.encoded) != dg13)

        // Emulated and read: genuine, valid, consistent; the holder from the 2024 DG13.
        let result = try ReaderSession(transport: try EmulatedChip(image: image))
            .readCard(
                .can(String(record.idNumber.suffix(6))),
                options: ReadOptions(trust: TrustStore(anchors: [issuer.csca]), today: GenuineCardTests.today))
        for (name, verdict) in [
            ("PA", result.checks.passiveAuthentication), ("consistency", result.checks.recordConsistency),
            ("validity", result.checks.documentValidity),
        ] {
            #expect(verdict.status == .passed, "\(name): \(verdict)")
        }
        let report = CardReport(result)
        #expect(report.genuine)
        #expect(report.holder.fullName == record.fullName && report.holder.idNumber == record.idNumber)
        #expect(report.holder.placeOfResidence == record.placeOfResidence)

        // A layout that cannot stand is refused; the name is taken.
        #expect(throws: LDSError.self) {
            try DataGroup13Layout.register(
                DataGroup13Layout(
                    name: "broken", version: 3,
                    fields: [.init(1, .text(.idNumber, printable: true)), .init(1, .text(.fullName, printable: false))]))
        }
        var clash = Self.layout2024
        clash.version = 9
        #expect(throws: LDSError.self) { try DataGroup13Layout.register(clash) }
        #expect(throws: (any Error).self) {
            try CardProfile(yaml: try Self.profileYAML().replacingOccurrences(of: "layout: test-cccd-2024", with: "layout: nonesuch")
                .replacingOccurrences(of: "dataGroup13Layout: test-cccd-2024", with: "dataGroup13Layout: nonesuch"))
        }
    }
}
