import CardCore

/// DG1 (ICAO 9303-10 §4.7.1): the MRZ data, `61 { 5F1F <MRZ characters> }`.
public struct DataGroup1: Hashable, Sendable {
    public var mrz: MRZ

    public init(mrz: MRZ) { self.mrz = mrz }

    public init(bytes: [UInt8]) throws(LDSError) {
        do {
            let outer = try TLV(parsing: bytes, allowTrailingPadding: true)
            guard outer.tag == 0x61 else { throw LDSError(code: .malformedFile, field: "DG1", reason: "outer tag \(outer.tag), expected 61") }
            let text = String(decoding: try outer.requiredChild(0x5F1F).value, as: UTF8.self)
            mrz = try MRZ(parsing: text)
        } catch let error as TLVError {
            throw LDSError(code: .malformedFile, field: "DG1", reason: "\(error)")
        } catch let error as LDSError {
            throw error
        } catch {
            throw LDSError(code: .malformedFile, field: "DG1", reason: "\(error)")
        }
    }

    public var encoded: [UInt8] {
        var w = TLVWriter()
        w.write(tag: 0x61) { $0.write(tag: 0x5F1F, value: Array(mrz.lines.joined().utf8)) }
        return w.bytes
    }
}
