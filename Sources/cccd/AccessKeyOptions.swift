import ArgumentParser
import ChipAccess
import LDS

/// How the user proves they hold the card: the CAN (PACE; on the Vietnamese card the last 6 digits of the ID),
/// the 12-digit ID with birth and expiry dates (the MRZ key), or the MRZ itself.
struct AccessKeyOptions: ParsableArguments {
    @Option(help: "The card access number for PACE (on the CCCD: the last 6 digits of the ID number).")
    var can: String?

    @Option(
        name: .customLong("id"),
        help: "The 12-digit ID number (with --dob and --doe): the BAC document number is its last 9 digits.")
    var idNumber: String?

    @Option(help: "Date of birth, YYMMDD.")
    var dob: String?

    @Option(help: "Date of expiry, YYMMDD (991231 for cards without expiry).")
    var doe: String?

    @Option(help: "The MRZ printed on the card (TD1: 3 lines of 30; line breaks optional).")
    var mrz: String?

    func validate() throws {
        let byID = idNumber != nil || dob != nil || doe != nil
        let ways = [byID, mrz != nil, can != nil].filter { $0 }.count
        if ways > 1 { throw ValidationError("Give one access key: --can, --id/--dob/--doe, or --mrz.") }
        if ways == 0 {
            throw ValidationError(
                "Give the access key: --can DIGITS, --id 12DIGITS --dob YYMMDD --doe YYMMDD, or --mrz \"LINES\".")
        }
        if let can, can.isEmpty || !can.allSatisfy({ $0.isASCII && $0.isNumber }) || can.count > 10 {
            throw ValidationError("--can must be digits (6 on the Vietnamese card).")
        }
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

    /// The key as the reader takes it.
    func accessKey() throws -> AccessKey {
        if let can { return .can(can) }
        return .mrz(try bacKey())
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
