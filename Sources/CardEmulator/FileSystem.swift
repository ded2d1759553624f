import CardCore
import ChipImage
import LDS

/// The chip's files: the master file's EFs and each application's EFs, found by FID or SFI.
struct FileSystem {
    struct Directory {
        let aid: [UInt8]?
        var files: [CardImage.File]
    }

    var master: Directory
    var applications: [Directory]

    init(image: CardImage) {
        master = Directory(aid: nil, files: image.masterFiles)
        applications = image.applications.map { Directory(aid: $0.aid, files: $0.files) }
    }

    /// Index of the application with this AID (full match, or a prefix per ISO 7816-4 partial selection).
    func application(aid: [UInt8]) -> Int? {
        applications.firstIndex { app in
            guard let a = app.aid, !aid.isEmpty, aid.count <= a.count else { return false }
            return Array(a.prefix(aid.count)) == aid
        }
    }

    func directory(_ index: Int?) -> Directory { index.map { applications[$0] } ?? master }

    /// A file of the directory, or of the master file (EF.CardAccess is reachable from anywhere).
    func file(fid: UInt16, in dir: Int?) -> CardImage.File? {
        directory(dir).files.first { $0.fileID == fid } ?? master.files.first { $0.fileID == fid }
    }

    func file(sfi: UInt8, in dir: Int?) -> CardImage.File? {
        directory(dir).files.first { $0.shortFileID == sfi } ?? master.files.first { $0.shortFileID == sfi }
    }
}
