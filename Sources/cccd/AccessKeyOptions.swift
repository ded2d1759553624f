import ArgumentParser
import ChipAccess
import LDS
import Reader

/// How the user proves they hold the card: the CAN (PACE), the 12-digit ID number (on the CCCD the CAN is its last
/// 6 digits; with --dob and --doe, the MRZ key instead), the text of the card's QR code, or the MRZ itself.
struct AccessKeyOptions: ParsableArguments {
    @Option(help: "The card access number for PACE (on the CCCD: the last 6 digits of the ID number).")
    var can: String?

    @Option(
        name: .customLong("id"),
        help:
            "The 12-digit ID number: alone, the CAN is its last 6 digits; with --dob and --doe, the MRZ key (BAC document number: its last 9 digits)."
    )
    var idNumber: String?

    @Option(help: "Date of birth, YYMMDD (with --id).")
    var dob: String?

    @Option(help: "Date of expiry, YYMMDD (with --id; 991231 for cards without expiry).")
    var doe: String?

    @Option(help: "The MRZ printed on the card (TD1: 3 lines of 30; line breaks optional).")
    var mrz: String?

    @Option(
        help: ArgumentHelp(
            "The text of the card's QR code as a barcode scanner types it (ID12|oldID|name|DDMMYYYY|sex|address|DDMMYYYY): the ID number gives the CAN.",
            valueName: "text"))
    var qr: String?

    var byMRZFields: Bool { dob != nil || doe != nil }

    func validate() throws {
        let ways = [idNumber != nil || byMRZFields, mrz != nil, can != nil, qr != nil].filter { $0 }.count
        if ways > 1 {
            throw ValidationError("Give one access key: --can, --id (with --dob/--doe or alone), --qr or --mrz.")
        }
        if ways == 0 {
            throw ValidationError(
                "Give the access key: --can DIGITS, --id 12DIGITS [--dob YYMMDD --doe YYMMDD], --qr \"QR TEXT\" or --mrz \"LINES\"."
            )
        }
        if byMRZFields {
            guard idNumber != nil, let dob, let doe else {
                throw ValidationError("--dob and --doe go with --id, both.")
            }
            for (name, value) in [("--dob", dob), ("--doe", doe)] {
                guard value.count == 6, value.allSatisfy({ $0.isASCII && $0.isNumber }) else {
                    throw ValidationError("\(name) must be 6 digits, YYMMDD.")
                }
            }
        }
        do {
            _ = try accessKey()
        } catch {
            throw ValidationError("\(error)")
        }
    }

    /// The key as the reader takes it.
    func accessKey() throws(DeskKeyError) -> AccessKey {
        if byMRZFields {
            return try DeskKey.accessKey(documentNumber: idNumber, dateOfBirth: dob, dateOfExpiry: doe)
        }
        return try DeskKey.accessKey(can: can, idNumber: idNumber, qr: qr, mrz: mrz)
    }

    func bacKey() throws -> BACKey {
        guard case .mrz(let key) = try accessKey() else {
            throw ValidationError("this needs the MRZ key: --mrz, or --id with --dob and --doe")
        }
        return key
    }
}
