import CardCore
import LDS
import Personalization

/// What a print centre hands the line: citizen records (JSON lines) and card profiles (YAML).
enum RecordTargets {
    static let all: [FuzzTarget] = [citizenRecord, profile]

    /// A fixed "today", so that validation does not depend on the day the fuzzer runs.
    private static let today = CalendarDate(year: 2026, month: 11, day: 30)!

    static let citizenRecord = FuzzTarget(
        name: "citizen-record",
        summary: "citizen records (JSON lines): strict decoding, every validation rule, MRZ and DG13 of a valid one",
        seeds: {
            var seeds: [[UInt8]] = [Array(SampleRecord.recordJSON.utf8)]
            for name in ["sample-card/record.json", "sample-card/batch.jsonl"] {
                if let bytes = SeedMaterial.file(name) { seeds.append(bytes) }
            }
            let records = SampleRecord.batch(count: 4, seed: 17, portrait: "portrait.jpg", today: today)
            if let lines = try? SampleRecord.jsonLines(records) { seeds.append(Array(lines.utf8)) }
            return seeds
        }
    ) { input in
        let entries: [RecordDecoder.Entry]
        do {
            entries = try RecordDecoder.decodeBatch(input)
        } catch let error as RecordDecodingError {
            for problem in error.problems { _ = problem.issue }
            return .rejected("RecordDecodingError")
        } catch {
            return .rejected("\(type(of: error))")
        }
        let validator = RecordValidator(profile: .vietnamese2021, today: today)
        var accepted = 0
        for entry in entries {
            guard case .success(let record) = entry.result else { continue }
            let result = validator.validate(record, baseDirectory: "/nonexistent")
            // A record that passes validation must make its MRZ and DG13 (what data preparation does next). Its
            // images are files elsewhere (the portrait, the fingerprints): their rules alone do not stop that.
            guard result.errors.allSatisfy({ $0.field == "portrait" || $0.field.hasPrefix("fingerprints") }) else {
                continue
            }
            guard let dob = CalendarDate(iso: record.dateOfBirth) else {
                fatalError("validation passed a date of birth that is not a date")
            }
            let doe = record.dateOfExpiry.flatMap { CalendarDate(iso: $0) }
            do {
                let mrz = try DataPreparation.mrz(
                    for: record, profile: .vietnamese2021, dateOfBirth: dob, dateOfExpiry: doe)
                _ = try DataGroup1(bytes: DataGroup1(mrz: mrz).encoded)
            } catch {
                fatalError("validation passed a record whose MRZ cannot be made: \(error)")
            }
            let dg13 = record.dataGroup13()
            guard let again = try? DataGroup13(bytes: dg13.encoded) else {
                fatalError("validation passed a record whose DG13 does not parse")
            }
            guard again == dg13 else {
                fatalError(
                    "validation passed a record whose DG13 reads back otherwise: \(differingProperties(dg13, again))")
            }
            accepted += 1
        }
        return accepted > 0 ? .accepted : .rejected("no valid record")
    }

    static let profile = FuzzTarget(
        name: "profile", summary: "card profiles (YAML): every key, its type and range, the built-in ones as seeds",
        seeds: { CardProfile.builtInYAML.sorted { $0.key < $1.key }.map { Array($0.value.utf8) } }
    ) { input in
        FuzzOutcome.of {
            let profile = try CardProfile(yaml: String(decoding: input, as: UTF8.self))
            _ = (profile.name, profile.capacities, profile.paceProtocol, profile.chipAuthentication)
        }
    }
}
