import CardCore
import CardCrypto
import LDS

/// Byte-level parsers: BER-TLV, command and response APDUs, and every LDS file a reader parses.
enum ParserTargets {
    static let all: [FuzzTarget] = [tlv, commandAPDU, responseAPDU, efCOM, dg1, dg2, dg3, dg11, dg12, dg13, dg14, dg15]

    /// Every hex value of the vector files (APDUs, TLV objects, keys): raw material for the byte-level parsers.
    private static var allVectorValues: [[UInt8]] { SeedMaterial.vectorValues.map(\.bytes) }

    private static var sampleFiles: [[UInt8]] {
        SeedMaterial.sampleCard.map { image in image.lDSFiles.sorted { $0.key < $1.key }.map(\.value) } ?? []
    }

    static let tlv = FuzzTarget(
        name: "tlv", summary: "BER-TLV: lazy objects (TLV, TLVReader) and the full tree (TLVNode), with its round trip",
        seeds: { allVectorValues + sampleFiles }
    ) { input in
        // The lazy reader: every object of the run and, one level down, its children.
        var reader = TLVReader(input)
        while !reader.isAtEnd {
            _ = reader.skipPadding()
            guard let object = try? reader.readObject() else { break }
            if object.tag.isConstructed, let children = try? object.children() {
                for child in children { _ = try? child.child(0x80) }
            }
        }
        _ = try? TLV(parsing: input, allowTrailingPadding: true)
        // The full tree reproduces its input byte for byte.
        return FuzzOutcome.of {
            let nodes = try TLVNode.parseRun(input)
            let again = TLVNode.encode(nodes)
            guard again == input else { roundTripFailed("TLVNode re-encoding differs from its input") }
        }
    }

    static let commandAPDU = FuzzTarget(
        name: "command-apdu",
        summary: "CommandAPDU as a chip parses it (short and extended), encode round trip, chaining",
        seeds: {
            SeedMaterial.vectorValues(named: { $0.contains("cmd") || $0.contains("command") || $0.contains("apdu") })
        }
    ) { input in
        FuzzOutcome.of {
            let command = try CommandAPDU(bytes: input)
            let extended = input.count > 5 && input[4] == 0
            for form in [extended, !extended] {
                // Data over 255 bytes or Ne over 256 needs the extended form whatever is asked.
                let again = try CommandAPDU(bytes: command.encoded(extended: form))
                guard again == command else { roundTripFailed("CommandAPDU encode (extended: \(form)) → parse") }
            }
            let chain = command.chained(maxDataLength: 64)
            guard chain.flatMap(\.data) == command.data else { roundTripFailed("command chaining lost data") }
            _ = command.description
        }
    }

    static let responseAPDU = FuzzTarget(
        name: "response-apdu", summary: "ResponseAPDU (data and status word), encode round trip",
        seeds: { SeedMaterial.vectorValues(named: { $0.contains("resp") }) + sampleFiles.map { $0 + [0x90, 0x00] } }
    ) { input in
        FuzzOutcome.of {
            let response = try ResponseAPDU(bytes: input)
            guard response.encoded == input else { roundTripFailed("ResponseAPDU encode") }
            _ = response.description
            _ = response.statusWord.description
        }
    }

    static let efCOM = FuzzTarget(
        name: "ef-com", summary: "EF.COM: LDS and Unicode versions, the data group list; round trip",
        seeds: { [SeedMaterial.sampleFile(.com)].compactMap { $0 } }
    ) { input in
        FuzzOutcome.of {
            let com = try EFCOM(bytes: input)
            let again = try EFCOM(bytes: com.encoded)
            guard again.dataGroups == com.dataGroups else { roundTripFailed("EF.COM data group list") }
        }
    }

    static let dg1 = FuzzTarget(
        name: "dg1", summary: "DG1: the MRZ (TD1, TD2, TD3) with its check digits; the Vietnamese ID number in it",
        seeds: { [SeedMaterial.sampleFile(.dataGroup(1))].compactMap { $0 } }
    ) { input in
        FuzzOutcome.of {
            let mrz = try DataGroup1(bytes: input).mrz
            _ = (mrz.primaryIdentifier, mrz.secondaryIdentifier, mrz.bacKey, VietnameseCard.idNumber(from: mrz))
            let again = try DataGroup1(bytes: DataGroup1(mrz: mrz).encoded).mrz
            guard again == mrz else { roundTripFailed("DG1 MRZ") }
            _ = try MRZ(parsing: mrz.text)
        }
    }

    static let dg2 = FuzzTarget(
        name: "dg2", summary: "DG2: CBEFF biometric group, ISO 19794-5 facial records, image format and size",
        seeds: {
            var seeds = [SeedMaterial.sampleFile(.dataGroup(2))].compactMap { $0 }
            for image in SeedMaterial.portraits {
                if let face = try? DataGroup2.FaceImage(image: Array(image.prefix(2048))) {
                    seeds.append(DataGroup2(faces: [face]).encoded)
                }
            }
            return seeds
        }
    ) { input in
        FuzzOutcome.of {
            let group = try DataGroup2(bytes: input)
            for face in group.faces {
                _ = (ImageFormat(detecting: face.image), imageDimensions(face.image), face.format.fileExtension)
            }
        }
    }

    static let dg3 = FuzzTarget(
        name: "dg3", summary: "DG3: CBEFF biometric group, ISO 19794-4 finger records",
        seeds: {
            let finger = DataGroup3.Finger(
                position: 2, compression: 4, width: 1, height: 1,
                image: Array(SeedMaterial.portraits.first?.prefix(512) ?? []))
            return [DataGroup3(fingers: [finger]).encoded]
        }
    ) { input in
        FuzzOutcome.of {
            let group = try DataGroup3(bytes: input)
            for finger in group.fingers { _ = (ImageFormat(detecting: finger.image), imageDimensions(finger.image)) }
        }
    }

    /// DG11 and DG12 (read generically: tag list and elements).
    private static func genericGroup(_ number: Int, tag: UInt8, elements: [(TLVTag, String)]) -> FuzzTarget {
        FuzzTarget(
            name: "dg\(number)", summary: "DG\(number): the tag list (5C) and its data elements, read generically",
            seeds: {
                var w = TLVWriter()
                w.write(tag: TLVTag(rawValue: UInt32(tag))) { inner in
                    inner.write(tag: 0x5C, value: elements.flatMap { $0.0.bytes })
                    for (t, text) in elements { inner.write(tag: t, value: Array(text.utf8)) }
                }
                return [w.bytes]
            }
        ) { input in
            FuzzOutcome.of {
                let group = try GenericDataGroup(number: number, bytes: input)
                for (t, _) in elements { _ = group.text(t) }
            }
        }
    }

    static let dg11 = genericGroup(
        11, tag: 0x6B, elements: [(0x5F0E, "NGUYEN<<VAN<A"), (0x5F2B, "19900101"), (0x5F11, "HA NOI")])
    static let dg12 = genericGroup(12, tag: 0x6C, elements: [(0x5F19, "HA NOI"), (0x5F26, "20210410")])

    static let dg13 = FuzzTarget(
        name: "dg13", summary: "DG13: the Vietnamese card's citizen data (UTF-8 fields by number); round trip",
        seeds: { [SeedMaterial.sampleFile(.dataGroup(13))].compactMap { $0 } }
    ) { input in
        FuzzOutcome.of {
            let group = try DataGroup13(bytes: input)
            let again = try DataGroup13(bytes: group.encoded)
            guard again == group else { roundTripFailed("DG13 \(differingProperties(group, again))") }
        }
    }

    static let dg14 = FuzzTarget(
        name: "dg14", summary: "DG14: SecurityInfos (CA, PACE, TA, AA) and the Chip Authentication public keys",
        seeds: { [SeedMaterial.sampleFile(.dataGroup(14))].compactMap { $0 } }
    ) { input in
        FuzzOutcome.of {
            let group = try DataGroup14(bytes: input)
            SecurityTargets.exercise(group.securityInfos)
        }
    }

    static let dg15 = FuzzTarget(
        name: "dg15", summary: "DG15: the Active Authentication public key (RSA or EC SubjectPublicKeyInfo)",
        seeds: { [SeedMaterial.sampleFile(.dataGroup(15))].compactMap { $0 } }
    ) { input in
        FuzzOutcome.of {
            let key = try DataGroup15(bytes: input).publicKey()
            _ = key.kind
        }
    }
}
