import ArgumentParser
import ChipAccess
import LDS

/// How the user proves they hold the card: the 12-digit ID with birth and expiry dates (the Vietnamese card's
/// MRZ key), or the MRZ itself.
struct AccessKeyOptions: ParsableArguments {
    @Option(name: .customLong("id"), help: "The 12-digit ID number (with --dob and --doe): the BAC document number is its last 9 digits.")
    var idNumber: String?

    @Option(help: "Date of birth, YYMMDD.")
    var dob: String?

    @Option(help: "Date of expiry, YYMMDD (991231 for cards without expiry).")
    var doe: String?

    @Option(help: "The MRZ printed on the card (TD1: 3 lines of 30; line breaks optional).")
    var mrz: String?

    func validate() throws {
        let byID = idNumber != nil || dob != nil || doe != nil
        if byID && mrz != nil { throw ValidationError("Give either --id/--dob/--doe or --mrz, not both.") }
        if !byID && mrz == nil { throw ValidationError("Give the access key: --id 12DIGITS --dob YYMMDD --doe YYMMDD, or --mrz \"LINES\".") }
        if byID {
            guard let idNumber, let dob, let doe else { throw ValidationError("--id needs --dob and --doe too.") }
            guard idNumber.count == 12, idNumber.allSatisfy({ $0.isASCII && $0.isNumber }) else {
                throw ValidationError("--id must be exactly 12 digits.")
            }
            for (name, value) in [("--dob", dob), ("--doe", doe)] {
                guard value.count == 6, value.allSatisfy({ $0.isASCII && $0.isNumber }) else {
                    throw ValidationError("\(name) must be 6 digits, YYMMDD.")
                }
            }
        }
    }

    func bacKey() throws -> BACKey {
        if let mrz {
            do {
                return try MRZ(parsing: mrz).bacKey
            } catch {
                throw ValidationError("--mrz is not a valid MRZ: \(error)")
            }
        }
        guard let idNumber, let dob, let doe else { throw ValidationError("missing access key") }
        return try VietnameseCard.bacKey(idNumber: idNumber, dateOfBirth: dob, dateOfExpiry: doe)
    }
}
