import CardCore

/// A facial or finger image format, from its first bytes.
public enum ImageFormat: String, Hashable, Sendable, Codable {
    case jpeg = "JPEG"
    case jpeg2000 = "JPEG2000"
    case wsq = "WSQ"

    /// Recognises JPEG (FF D8 FF), JPEG 2000 (JP2 signature box or a J2K codestream FF 4F FF 51) and WSQ (FF A0 FF A8).
    public init?(detecting bytes: [UInt8]) {
        if bytes.starts(with: [0xFF, 0xD8, 0xFF]) {
            self = .jpeg
        } else if bytes.starts(with: [0x00, 0x00, 0x00, 0x0C, 0x6A, 0x50, 0x20, 0x20])
            || bytes.starts(with: [0xFF, 0x4F, 0xFF, 0x51])
        {
            self = .jpeg2000
        } else if bytes.starts(with: [0xFF, 0xA0, 0xFF, 0xA8]) {
            self = .wsq
        } else {
            return nil
        }
    }

    /// The file extension for saving.
    public var fileExtension: String {
        switch self {
        case .jpeg: return "jpg"
        case .jpeg2000: return "jp2"
        case .wsq: return "wsq"
        }
    }
}

/// Reads an image's width and height from its header (`ImageHeader`: JPEG SOFn, J2K SIZ, in a JP2 file or not); nil
/// when the header is not readable. A structural check that the image decodes, without decoding the pixels.
public func imageDimensions(_ bytes: [UInt8]) -> (width: Int, height: Int)? {
    guard let header = try? ImageHeader(bytes) else { return nil }
    return (header.width, header.height)
}

/// DG2 (ICAO 9303-10 §4.7.2): the facial image in a CBEFF biometric information group, as an ISO/IEC 19794-5
/// facial record (`FAC\0`, version `010\0`).
public struct DataGroup2: Hashable, Sendable {
    public struct FaceImage: Hashable, Sendable {
        public var format: ImageFormat
        public var width: Int
        public var height: Int
        public var image: [UInt8]
        /// 19794-5 gender: 0 unspecified, 1 male, 2 female.
        public var gender: UInt8
        /// 19794-5 face image type: 1 full frontal.
        public var faceImageType: UInt8

        public init(image: [UInt8], gender: UInt8 = 0, faceImageType: UInt8 = 1) throws(LDSError) {
            guard let format = ImageFormat(detecting: image), format != .wsq else {
                throw LDSError(code: .malformedFile, field: "portrait", reason: "not a JPEG or JPEG 2000 image")
            }
            guard let (w, h) = imageDimensions(image) else {
                throw LDSError(
                    code: .malformedFile, field: "portrait", reason: "the \(format.rawValue) header cannot be read")
            }
            self.format = format
            self.width = w
            self.height = h
            self.image = image
            self.gender = gender
            self.faceImageType = faceImageType
        }

        /// A face exactly as given, unchecked (a chip's own record, or a test's crafted one).
        public init(
            format: ImageFormat, width: Int, height: Int, image: [UInt8], gender: UInt8 = 0, faceImageType: UInt8 = 1
        ) {
            self.format = format
            self.width = width
            self.height = height
            self.image = image
            self.gender = gender
            self.faceImageType = faceImageType
        }
    }

    public var faces: [FaceImage]

    public init(faces: [FaceImage]) { self.faces = faces }

    public var encoded: [UInt8] {
        var group = TLVWriter()
        group.write(tag: 0x02, value: [UInt8(faces.count)])
        for face in faces {
            group.write(tag: 0x7F60) { template in
                template.write(tag: 0xA1) { header in
                    header.write(tag: 0x80, value: [0x01, 0x01])
                    header.write(tag: 0x81, value: [0x02])
                    header.write(tag: 0x87, value: [0x01, 0x01])
                    header.write(tag: 0x88, value: [0x00, 0x08])
                }
                template.write(tag: 0x5F2E, value: Self.facialRecord(face))
            }
        }
        return TLVWriter.encode(tag: 0x75, value: TLVWriter.encode(tag: 0x7F61, value: group.bytes))
    }

    static func facialRecord(_ face: FaceImage) -> [UInt8] {
        var w = ByteWriter(capacity: face.image.count + 46)
        let blockLength = 20 + 12 + face.image.count
        w.write(Array("FAC".utf8) + [0x00])
        w.write(Array("010".utf8) + [0x00])
        w.write(uint: UInt64(14 + blockLength), width: 4)
        w.write(uint: 1, width: 2)
        // Facial information block.
        w.write(uint: UInt64(blockLength), width: 4)
        w.write(uint: 0, width: 2)  // feature points
        w.write(face.gender)
        w.write([0, 0])  // eye, hair colour
        w.write([0, 0, 0])  // feature mask
        w.write([0, 0])  // expression
        w.write([0, 0, 0, 0, 0, 0])  // pose angle and uncertainty
        // Image information block.
        w.write(face.faceImageType)
        w.write(face.format == .jpeg2000 ? 1 : 0)
        w.write(uint: UInt64(face.width), width: 2)
        w.write(uint: UInt64(face.height), width: 2)
        w.write(1)  // colour space: sRGB
        w.write(2)  // source: digital still camera
        w.write([0, 0, 0, 0])  // device type, quality
        w.write(face.image)
        return w.bytes
    }

    public init(bytes: [UInt8]) throws(LDSError) {
        func fail(_ reason: String) -> LDSError { LDSError(code: .malformedFile, field: "DG2", reason: reason) }
        faces = try LDSError.parsing("DG2") {
            let group = try LDSError.outerObject(bytes, tag: 0x75, field: "DG2").requiredChild(0x7F61)
            var faces: [FaceImage] = []
            for template in try group.children() where template.tag == 0x7F60 {
                guard let record = try template.child(0x5F2E) else {
                    throw fail("a biometric template without data (5F2E)")
                }
                faces += try Self.parseFacialRecord(Array(record.value))
            }
            guard !faces.isEmpty else { throw fail("no facial image") }
            return faces
        }
    }

    static func parseFacialRecord(_ record: [UInt8]) throws(LDSError) -> [FaceImage] {
        func fail(_ reason: String) -> LDSError {
            LDSError(code: .malformedFile, field: "DG2", reason: "facial record: \(reason)")
        }
        var r = ByteReader(record)
        guard r.readBytes(4).map(Array.init) == Array("FAC".utf8) + [0] else { throw fail("no FAC header") }
        guard r.readBytes(4) != nil, let length = r.readUInt(width: 4), Int(length) <= record.count,
            let count = r.readUInt(width: 2), count >= 1
        else { throw fail("truncated header") }
        var faces: [FaceImage] = []
        for _ in 0..<count {
            guard let blockLength = r.readUInt(width: 4), blockLength >= 32, Int(blockLength) - 4 <= r.count,
                let featurePoints = r.readUInt(width: 2), let gender = r.readByte(), r.readBytes(13) != nil,
                r.readBytes(Int(featurePoints) * 8) != nil, let type = r.readByte(), let dataType = r.readByte(),
                let width = r.readUInt(width: 2), let height = r.readUInt(width: 2), r.readBytes(6) != nil
            else { throw fail("truncated facial information") }
            let imageLength = Int(blockLength) - 20 - Int(featurePoints) * 8 - 12
            guard imageLength > 0, let image = r.readBytes(imageLength) else {
                throw fail("image data runs past the record")
            }
            let bytes = Array(image)
            let format = ImageFormat(detecting: bytes) ?? (dataType == 1 ? .jpeg2000 : .jpeg)
            faces.append(
                FaceImage(
                    format: format, width: Int(width), height: Int(height), image: bytes, gender: gender,
                    faceImageType: type))
        }
        return faces
    }
}

/// DG3 (ICAO 9303-10 §4.7.3): finger images in CBEFF templates, ISO/IEC 19794-4 finger records (`FIR\0`),
/// parsed as far as present: positions, compression and the image bytes.
public struct DataGroup3: Hashable, Sendable {
    public struct Finger: Hashable, Sendable {
        /// 19794-4 finger position (2 right index, 7 left index, …).
        public var position: UInt8
        /// Image compression: 0 uncompressed, 2 WSQ, 4 JPEG, 5 JPEG 2000, 6 PNG.
        public var compression: UInt8
        public var width: Int
        public var height: Int
        public var image: [UInt8]
        public init(position: UInt8, compression: UInt8, width: Int, height: Int, image: [UInt8]) {
            self.position = position
            self.compression = compression
            self.width = width
            self.height = height
            self.image = image
        }
    }

    public var fingers: [Finger]
    public init(fingers: [Finger]) { self.fingers = fingers }

    public var encoded: [UInt8] {
        var group = TLVWriter()
        group.write(tag: 0x02, value: [UInt8(fingers.count)])
        for finger in fingers {
            group.write(tag: 0x7F60) { template in
                template.write(tag: 0xA1) { header in
                    header.write(tag: 0x80, value: [0x01, 0x01])
                    header.write(tag: 0x81, value: [0x08])
                    header.write(tag: 0x87, value: [0x01, 0x01])
                    header.write(tag: 0x88, value: [0x00, 0x09])
                }
                var w = ByteWriter()
                let recordLength = 32 + 14 + finger.image.count
                w.write(Array("FIR".utf8) + [0])
                w.write(Array("010".utf8) + [0])
                w.write(uint: UInt64(recordLength), width: 6)
                w.write([0, 0, 0, 31, 1, 1])  // device, acquisition level 31, one finger, scale ppi
                w.write(uint: 500, width: 2)
                w.write(uint: 500, width: 2)
                w.write(uint: 500, width: 2)
                w.write(uint: 500, width: 2)
                w.write([8, finger.compression, 0, 0])
                w.write(uint: UInt64(14 + finger.image.count), width: 4)
                w.write([finger.position, 1, 1, 100, 0])
                w.write(uint: UInt64(finger.width), width: 2)
                w.write(uint: UInt64(finger.height), width: 2)
                w.write(0)
                w.write(finger.image)
                template.write(tag: 0x5F2E, value: w.bytes)
            }
        }
        return TLVWriter.encode(tag: 0x63, value: TLVWriter.encode(tag: 0x7F61, value: group.bytes))
    }

    public init(bytes: [UInt8]) throws(LDSError) {
        func fail(_ reason: String) -> LDSError { LDSError(code: .malformedFile, field: "DG3", reason: reason) }
        fingers = try LDSError.parsing("DG3") {
            var fingers: [Finger] = []
            for template in try LDSError.outerObject(bytes, tag: 0x63, field: "DG3").requiredChild(0x7F61).children()
            where template.tag == 0x7F60 {
                guard let record = try template.child(0x5F2E) else { throw fail("a template without data") }
                var r = ByteReader(record.value)
                guard r.readBytes(4).map(Array.init) == Array("FIR".utf8) + [0], r.readBytes(4) != nil,
                    r.readUInt(width: 6) != nil,
                    r.readBytes(4) != nil, let count = r.readByte(), r.readBytes(10) != nil,
                    let compression = r.readByte(), r.readBytes(2) != nil
                else { throw fail("truncated finger record header") }
                for _ in 0..<count {
                    guard let length = r.readUInt(width: 4), length >= 14, let position = r.readByte(),
                        r.readBytes(4) != nil,
                        let w = r.readUInt(width: 2), let h = r.readUInt(width: 2), r.readByte() != nil,
                        let image = r.readBytes(Int(length) - 14)
                    else { throw fail("truncated finger image") }
                    fingers.append(
                        Finger(
                            position: position, compression: compression, width: Int(w), height: Int(h),
                            image: Array(image)))
                }
            }
            guard !fingers.isEmpty else { throw fail("no finger image") }
            return fingers
        }
    }
}

/// DG11 and DG12 (ICAO 9303-10 §4.7.11–12) read generically: the tag list (5C) and the data elements.
public struct GenericDataGroup: Hashable, Sendable {
    public var number: Int
    public var elements: [TLV]

    public init(number: Int, elements: [TLV]) {
        self.number = number
        self.elements = elements
    }

    public init(number: Int, bytes: [UInt8]) throws(LDSError) {
        guard let tag = LDSFile.dataGroup(number).tag else {
            throw LDSError(code: .malformedFile, field: "DG\(number)", reason: "no such data group")
        }
        self.number = number
        elements = try LDSError.parsing("DG\(number)") {
            try LDSError.outerObject(bytes, tag: tag, field: "DG\(number)").children().filter { $0.tag != 0x5C }
        }
    }

    /// The text of a data element (e.g. 5F0E full name in DG11).
    public func text(_ tag: TLVTag) -> String? {
        elements.first { $0.tag == tag }.map { String(decoding: $0.value, as: UTF8.self) }
    }

    public var encoded: [UInt8] {
        var inner = TLVWriter()
        inner.write(tag: 0x5C, value: elements.flatMap(\.tag.bytes))
        for e in elements { inner.write(tag: e.tag, value: e.value) }
        return TLVWriter.encode(tag: LDSFile.dataGroup(number).tag ?? 0x6B, value: inner.bytes)
    }
}
