import Foundation
import LDS

/// The synthetic sample citizen (no real person: the CCCD.md example ID, a drawn portrait), embedded so that
/// `cccd sample-card` makes a real card anywhere. The same as Vectors/sample-card (a test keeps them equal).
public enum SampleRecord {
    /// The record, its portrait inline (base64).
    public static var record: CitizenRecord {
        get throws {
            var record = try RecordDecoder.decodeRecord(Array(recordJSON.utf8))
            record.portrait = portraitBase64
            return record
        }
    }

    /// The portrait's bytes (JPEG).
    public static var portrait: [UInt8] { [UInt8](Data(base64Encoded: portraitBase64) ?? Data()) }
}
