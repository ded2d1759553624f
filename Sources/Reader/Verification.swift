import Foundation
import LDS
import Verification

/// The data checks of a read (DESIGN.md, CardReport): Passive Authentication, document validity and record
/// consistency. Chip and Active Authentication are decided during the read.
public enum Verification {
    public static func verify(_ result: inout ReadResult, options: ReadOptions) {
        // Passive Authentication.
        if let sod = result.files[.sod] {
            var groups: [Int: [UInt8]] = [:]
            for (file, bytes) in result.files { if let n = file.dataGroupNumber { groups[n] = bytes } }
            // The EF.SOD the read parsed, when it is these bytes (a file read again is parsed again).
            let pa: PassiveAuthentication.Result
            if let parsed = result.securityObject, parsed.document.encoded == sod {
                pa = PassiveAuthentication.verify(
                    document: parsed.document, object: parsed.object, dataGroups: groups, trust: options.trust)
            } else {
                pa = PassiveAuthentication.verify(sod: sod, dataGroups: groups, trust: options.trust)
            }
            result.passiveAuthentication = pa
            result.checks.passiveAuthentication = pa.overall
            for note in pa.notes where !result.notes.contains(note) { result.notes.append(note) }
        } else if let why = result.unreadable[.sod], !result.absent.contains(.sod) {
            result.checks.passiveAuthentication = .failed("EF.SOD cannot be read: \(why)")
        } else {
            result.checks.passiveAuthentication = .failed("no EF.SOD on the card: nothing proves the data is as issued")
        }
        var mrz: MRZ? = nil
        var dg1Problem: String? = nil
        if let dg1 = result.files[.dataGroup(1)] {
            do { mrz = try DataGroup1(bytes: dg1).mrz } catch { dg1Problem = "DG1 cannot be read: \(error)" }
        } else if let why = result.unreadable[.dataGroup(1)] {
            dg1Problem = "DG1 cannot be read: \(why)"
        }
        var dg13: DataGroup13? = nil
        var dg13Problem: String? = nil
        if let bytes = result.files[.dataGroup(13)] {
            do { dg13 = try DataGroup13(bytes: bytes) } catch { dg13Problem = "DG13 cannot be read: \(error)" }
        } else if let why = result.unreadable[.dataGroup(13)] {
            dg13Problem = "DG13 cannot be read: \(why)"
        }
        result.mrz = mrz
        result.dataGroup13 = dg13
        let today = options.today ?? CalendarDate.today()
        if let mrz {
            result.dateOfExpiry = mrz.dateOfExpiry == VietnameseCard.noExpiry ? nil : expiryDate(mrz.dateOfExpiry)
            result.checks.documentValidity = documentValidity(mrz: mrz, today: today)
            result.checks.recordConsistency =
                dg13Problem.map { .failed($0) } ?? recordConsistency(mrz: mrz, dg13: dg13)
        } else {
            let why = dg1Problem ?? "DG1 was not read"
            result.checks.documentValidity = .notChecked(why)
            result.checks.recordConsistency = dg1Problem.map { .failed($0) } ?? .notChecked(why)
        }
        if let groups = result.securityObjectGroups, !groups.contains(14), !groups.contains(15),
            !result.usedChipAuthenticationMapping
        {
            result.notes.append(
                "the card offers neither Chip nor Active Authentication (no DG14 or DG15): a copy of its data onto "
                    + "another chip cannot be told apart")
        }
        result.assessment = Assessment.assess(result)
    }

    /// YYMMDD of an expiry date (20YY).
    static func expiryDate(_ yymmdd: String) -> CalendarDate? {
        guard yymmdd.count == 6, let yy = Int(yymmdd.prefix(2)), let mm = Int(yymmdd.dropFirst(2).prefix(2)),
            let dd = Int(yymmdd.suffix(2))
        else { return nil }
        return CalendarDate(year: 2000 + yy, month: mm, day: dd)
    }

    static func documentValidity(mrz: MRZ?, today: CalendarDate) -> Verdict {
        guard let mrz else { return .notChecked("DG1 was not read") }
        if mrz.dateOfExpiry == VietnameseCard.noExpiry { return .passed("the card has no expiry") }
        guard let expiry = expiryDate(mrz.dateOfExpiry) else {
            return .failed("the expiry date in the MRZ is not a date")
        }
        return expiry < today ? .failed("the card expired on \(expiry)") : .passed("valid until \(expiry)")
    }

    /// The MRZ in DG1 parsed with its check digits (done before this is called); DG1 and DG13, when the card has
    /// one, must describe the same person, and the ID number must agree with birth date and sex.
    static func recordConsistency(mrz: MRZ, dg13: DataGroup13?) -> Verdict {
        var problems: [String] = []
        if expiryDate(mrz.dateOfBirth) == nil { problems.append("the date of birth in the MRZ is not a date") }
        if mrz.dateOfExpiry != VietnameseCard.noExpiry, expiryDate(mrz.dateOfExpiry) == nil {
            problems.append("the expiry date in the MRZ is not a date")
        }
        if !["M", "F", "<", "X"].contains(mrz.sex) { problems.append("the sex in the MRZ is not M, F or <") }
        guard let dg13 else {
            return problems.isEmpty
                ? .passed("the MRZ in DG1 is well formed with good check digits (no DG13 to compare)")
                : .failed(problems.joined(separator: "; "))
        }
        let mrzID = VietnameseCard.idNumber(from: mrz)
        if let id = dg13.idNumber {
            if mrzID != id { problems.append("the ID number in DG13 differs from the MRZ") }
            if String(id.suffix(9)) != mrz.documentNumber.replacingOccurrences(of: "<", with: "") {
                problems.append("the document number is not the last 9 digits of the ID number")
            }
        }
        let dob = dg13.dateOfBirth.flatMap(Self.vietnameseDate)
        if let dob, dob.mrz != mrz.dateOfBirth { problems.append("the date of birth in DG13 differs from the MRZ") }
        let sex = dg13.sex == "Nam" ? "M" : dg13.sex == "Nữ" ? "F" : nil
        if let sex, sex != mrz.sex { problems.append("the sex in DG13 differs from the MRZ") }
        if let name = dg13.fullName {
            let split = MRZTransliteration.splitVietnameseName(name)
            // Issuers truncate long names in different ICAO forms: any of them agrees, a different name does not.
            if !MRZTransliteration.nameFieldAgrees(mrz.nameField, primary: split.primary, secondary: split.secondary) {
                problems.append("the name in DG13 does not transliterate to the MRZ name")
            }
        }
        if let id = dg13.idNumber ?? mrzID {
            for p in VietnameseIDNumber.check(id, dateOfBirth: dob, sex: sex) {
                problems.append("ID number: \(p.message)")
            }
        }
        if let expiry = dg13.dateOfExpiry {
            if expiry == DataGroup13.noExpiryText {
                if mrz.dateOfExpiry != VietnameseCard.noExpiry {
                    problems.append("DG13 says no expiry but the MRZ has one")
                }
            } else if let date = Self.vietnameseDate(expiry), date.mrz != mrz.dateOfExpiry {
                problems.append("the expiry date in DG13 differs from the MRZ")
            }
        }
        return problems.isEmpty
            ? .passed("DG1 and DG13 agree, and the ID number fits the holder")
            : .failed(problems.joined(separator: "; "))
    }

    /// dd/mm/yyyy.
    static func vietnameseDate(_ text: String) -> CalendarDate? {
        let parts = text.split(separator: "/")
        guard parts.count == 3, let d = Int(parts[0]), let m = Int(parts[1]), let y = Int(parts[2]) else { return nil }
        return CalendarDate(year: y, month: m, day: d)
    }
}
