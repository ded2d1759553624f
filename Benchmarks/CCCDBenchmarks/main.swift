// Host-cost benchmarks (DESIGN.md performance principles): what a read costs the host besides chip time, and
// how many APDUs it takes. Run with `make bench` (release build). Prints a table and one JSON line.
import CardCore
import CardCrypto
import CardEmulator
import ChipAccess
import Foundation
import LDS
import Reader

struct Measurement: Encodable {
    var name: String
    var iterations: Int
    var medianMicroseconds: Double
    var p90Microseconds: Double
    var apdus: Int?
}

func measure(_ name: String, iterations: Int, _ body: () throws -> Int?) rethrows -> Measurement {
    var samples: [Double] = []
    var apdus: Int? = nil
    _ = try body()  // warm-up
    for _ in 0..<iterations {
        let start = ContinuousClock.now
        apdus = try body()
        let d = ContinuousClock.now - start
        samples.append(Double(d.components.seconds) * 1e6 + Double(d.components.attoseconds) / 1e12)
    }
    samples.sort()
    return Measurement(
        name: name, iterations: iterations, medianMicroseconds: samples[samples.count / 2],
        p90Microseconds: samples[min(samples.count - 1, samples.count * 9 / 10)], apdus: apdus)
}

var results: [Measurement] = []
do {
    let vietnamese = try SampleCard.image()
    let bacOnly = try SampleCard.image(security: .bacOnly)
    let bacKey = try SampleCard.bacKey

    results.append(
        try measure("full read: PACE-CAN + CA + AA + 7 files (20 KB DG2), extended length", iterations: 50) {
            let r = try ReaderSession(transport: try EmulatedChip(image: vietnamese)).readCard(.can(SampleCard.can))
            return r.apduCount
        })
    results.append(
        try measure("full read, no extended length (223-byte AES reads)", iterations: 30) {
            let chip = try EmulatedChip(image: vietnamese, settings: EmulatorSettings(supportsExtendedLength: false))
            return try ReaderSession(transport: chip).readCard(.can(SampleCard.can)).apduCount
        })
    results.append(
        try measure("BAC read of 5 files (20 KB DG2), extended length", iterations: 50) {
            let s = ReaderSession(transport: try EmulatedChip(image: bacOnly))
            try s.selectApplication()
            try s.performBAC(bacKey)
            return try s.readAll().apduCount
        })

    // Secure messaging per APDU, both sides (terminal protect/unprotect + chip unprotect/protect).
    let keys = try SecureMessagingKeys(cipher: .aes128, sharedSecret: [UInt8](repeating: 1, count: 32))
    let chipKeys = try SecureMessagingKeys(cipher: .aes128, sharedSecret: [UInt8](repeating: 1, count: 32))
    let terminal = SecureMessaging(keys: keys, ssc: [UInt8](repeating: 0, count: 16))
    let chip = SecureMessaging(keys: chipKeys, ssc: [UInt8](repeating: 0, count: 16))
    let payload = [UInt8](repeating: 0x5A, count: 223)
    results.append(
        try measure("AES secure messaging round trip, 223-byte READ BINARY (x100)", iterations: 50) {
            for _ in 0..<100 {
                let c = try terminal.protect(CommandAPDU(ins: 0xB0, p1: 0, p2: 0, ne: 223))
                _ = try chip.unprotectCommand(c)
                let r = try chip.protectResponse(ResponseAPDU(data: payload, statusWord: .success), ins: 0xB0)
                _ = try terminal.unprotect(r)
            }
            return nil
        })
    var record = DataGroup13()
    record.idNumber = "001090000000"
    record.fullName = "Nguyễn Văn A"
    record.dateOfBirth = "01/01/1990"
    record.sex = "Nam"
    record.nationality = "Việt Nam"
    record.ethnicity = "Kinh"
    record.religion = "Không"
    record.placeOfOrigin = "Xã Đông Ngạc, Huyện Từ Liêm, Hà Nội"
    record.placeOfResidence = "Số 1 Phố Tràng Tiền, Phường Tràng Tiền, Quận Hoàn Kiếm, Hà Nội"
    record.dateOfIssue = "10/04/2021"
    record.dateOfExpiry = "01/01/2030"
    record.fatherName = "Nguyễn Văn B"
    record.motherName = "Trần Thị C"
    let dg13 = record.encoded
    results.append(
        try measure("DG13 parse by field number and tag (x1000)", iterations: 50) {
            for _ in 0..<1000 { _ = try DataGroup13(bytes: dg13) }
            return nil
        })
} catch {
    FileHandle.standardError.write(Data("benchmark failed: \(error)\n".utf8))
    exit(1)
}

print("benchmark".padding(toLength: 72, withPad: " ", startingAt: 0) + "  median µs      p90 µs   APDUs")
for r in results {
    print(
        r.name.padding(toLength: 72, withPad: " ", startingAt: 0)
            + String(format: "%11.1f %11.1f", r.medianMicroseconds, r.p90Microseconds)
            + (r.apdus.map { String(format: "%8d", $0) } ?? ""))
}
let encoder = JSONEncoder()
encoder.outputFormatting = [.sortedKeys]
print(String(decoding: try encoder.encode(results), as: UTF8.self))
