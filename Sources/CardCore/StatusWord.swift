/// The two trailer bytes SW1-SW2 of a response APDU (ISO/IEC 7816-4 §5.6).
///
/// Modelled on GRDB's `ResultCode`: a struct with named constants, so that a `switch` reads like the standard.
/// Families match as patterns: `case .bytesAvailable:` matches every `61xx`, `case .wrongLength(…)`-style
/// families are `.bytesAvailable` (61xx), `.wrongLe` (6Cxx) and `.verificationFailedRetries` (63Cx).
public struct StatusWord: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: UInt16

    public init(rawValue: UInt16) { self.rawValue = rawValue }
    public init(sw1: UInt8, sw2: UInt8) { rawValue = UInt16(sw1) << 8 | UInt16(sw2) }

    public var sw1: UInt8 { UInt8(rawValue >> 8) }
    public var sw2: UInt8 { UInt8(rawValue & 0xFF) }

    // Exact codes.
    public static let success = StatusWord(rawValue: 0x9000)
    public static let endOfFileWarning = StatusWord(rawValue: 0x6282)
    public static let verificationFailed = StatusWord(rawValue: 0x6300)
    public static let wrongLength = StatusWord(rawValue: 0x6700)
    public static let securityStatusNotSatisfied = StatusWord(rawValue: 0x6982)
    public static let authenticationMethodBlocked = StatusWord(rawValue: 0x6983)
    public static let referenceDataNotUsable = StatusWord(rawValue: 0x6984)
    public static let conditionsOfUseNotSatisfied = StatusWord(rawValue: 0x6985)
    public static let commandNotAllowedNoEF = StatusWord(rawValue: 0x6986)
    public static let expectedSMDataObjectsMissing = StatusWord(rawValue: 0x6987)
    public static let incorrectSMDataObjects = StatusWord(rawValue: 0x6988)
    public static let incorrectData = StatusWord(rawValue: 0x6A80)
    public static let functionNotSupported = StatusWord(rawValue: 0x6A81)
    public static let fileNotFound = StatusWord(rawValue: 0x6A82)
    public static let incorrectP1P2 = StatusWord(rawValue: 0x6A86)
    public static let referencedDataNotFound = StatusWord(rawValue: 0x6A88)
    public static let wrongP1P2 = StatusWord(rawValue: 0x6B00)
    public static let instructionNotSupported = StatusWord(rawValue: 0x6D00)
    public static let classNotSupported = StatusWord(rawValue: 0x6E00)
    public static let noPreciseDiagnosis = StatusWord(rawValue: 0x6F00)

    // Families (the low byte, or its low nibble for 63Cx, is a parameter).
    /// `61xx`: SW2 more response bytes are waiting for GET RESPONSE (T=0).
    public static let bytesAvailable = StatusWord(rawValue: 0x6100)
    /// `6Cxx`: wrong Le; SW2 gives the exact number of available bytes.
    public static let wrongLe = StatusWord(rawValue: 0x6C00)
    /// `63Cx`: verification failed, x retries left.
    public static let verificationFailedRetries = StatusWord(rawValue: 0x63C0)

    public var isSuccess: Bool { rawValue == 0x9000 }
    /// `61xx`: the number of bytes waiting (SW2 = 00 means 256).
    public var availableBytes: Int? { sw1 == 0x61 ? (sw2 == 0 ? 256 : Int(sw2)) : nil }
    /// `6Cxx`: the exact Le the card wants (SW2 = 00 means 256).
    public var exactLe: Int? { sw1 == 0x6C ? (sw2 == 0 ? 256 : Int(sw2)) : nil }
    /// `63Cx`: retries left.
    public var retriesLeft: Int? { rawValue & 0xFFF0 == 0x63C0 ? Int(rawValue & 0x0F) : nil }

    /// Pattern matching: exact codes match themselves; the family constants match their whole family.
    public static func ~= (pattern: StatusWord, value: StatusWord) -> Bool {
        switch pattern.rawValue {
        case 0x6100, 0x6C00: return value.sw1 == pattern.sw1
        case 0x63C0: return value.rawValue & 0xFFF0 == 0x63C0
        default: return pattern.rawValue == value.rawValue
        }
    }

    /// Plain-English meaning, for error messages and reports.
    public var meaning: String {
        switch self {
        case .success: return "success"
        case .bytesAvailable: return "\(availableBytes ?? 0) more bytes available"
        case .endOfFileWarning: return "end of file reached before Le bytes"
        case .verificationFailed: return "verification failed (wrong password or key)"
        case .verificationFailedRetries: return "verification failed, \(retriesLeft ?? 0) tries left"
        case .wrongLength: return "wrong length"
        case .securityStatusNotSatisfied: return "security status not satisfied (access denied)"
        case .authenticationMethodBlocked: return "authentication method blocked"
        case .referenceDataNotUsable: return "reference data not usable"
        case .conditionsOfUseNotSatisfied: return "conditions of use not satisfied"
        case .commandNotAllowedNoEF: return "command not allowed (no current EF)"
        case .expectedSMDataObjectsMissing: return "expected secure messaging data objects missing"
        case .incorrectSMDataObjects: return "secure messaging data objects incorrect (bad MAC)"
        case .incorrectData: return "incorrect parameters in the data field"
        case .functionNotSupported: return "function not supported"
        case .fileNotFound: return "file or application not found"
        case .incorrectP1P2: return "incorrect parameters P1-P2"
        case .referencedDataNotFound: return "referenced data not found"
        case .wrongP1P2: return "wrong parameters P1-P2 (offset beyond the file)"
        case .wrongLe: return "wrong Le; exact length is \(exactLe ?? 0)"
        case .instructionNotSupported: return "instruction not supported"
        case .classNotSupported: return "class not supported"
        case .noPreciseDiagnosis: return "no precise diagnosis"
        default:
            switch sw1 {
            case 0x62, 0x63: return "warning"
            case 0x64, 0x65, 0x66: return "execution error"
            default: return "error"
            }
        }
    }

    /// "6A82 (file or application not found)".
    /// The four hex digits, "6A82".
    public var hex: String { String(rawValue, radix: 16, uppercase: true).leftPadded(to: 4) }

    public var description: String { "\(hex) (\(meaning))" }
}

extension String {
    fileprivate func leftPadded(to width: Int) -> String {
        count >= width ? self : String(repeating: "0", count: width - count) + self
    }
}
