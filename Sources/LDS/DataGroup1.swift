import CardCore

/// DG1 (ICAO 9303-10 §4.7.1): the MRZ data, `61 { 5F1F <MRZ characters> }`.
public struct DataGroup1: Hashable, Sendable {
    public var mrz: MRZ

    public init(mrz: MRZ) { self.mrz = mrz }

    public init(bytes: [UInt8]) throws(LDSError) {
        mrz = try LDSError.parsing("DG1") {
            let outer = try LDSError.outerObject(bytes, tag: 0x61, field: "DG1")
            return try MRZ(parsing: String(decoding: try outer.requiredChild(0x5F1F).value, as: UTF8.self))
        }
    }

    public var encoded: [UInt8] {
        var w = TLVWriter()
        w.write(tag: 0x61) { $0.write(tag: 0x5F1F, value: Array(mrz.lines.joined().utf8)) }
        return w.bytes
    }
}
