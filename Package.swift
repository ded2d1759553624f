// swift-tools-version: 6.1
// CCCDKit: personalize and verify ICAO 9303 chip ID cards, first of all Vietnam's CCCD.
// Layers (DESIGN.md, with the README's design notes):
//   cccd → Desk (→ DeskProtocol) / CCCDBench / PostgresJournal / IssuanceSlots → Issuance → Reader (→ Verification) /
//   Personalization / CardEmulator (→ ChipImage) / PCSC → LDS → ChipAccess → CardCrypto → CardCore. FuzzTargets sits
//   beside cccd; the C targets under their users.
import PackageDescription

let strict: [SwiftSetting] = [.enableUpcomingFeature("ExistentialAny")]

let package = Package(
    name: "CCCDKit",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "cccd", targets: ["cccd"]),
        .library(name: "CardCore", targets: ["CardCore"]),
        .library(name: "CardCrypto", targets: ["CardCrypto"]),
        // The fuzz targets' functions: `make fuzz` links them into libFuzzer (the Fuzz/ package), the tests run
        // their seeds and regression inputs.
        .library(name: "FuzzTargets", targets: ["FuzzTargets"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-asn1", from: "1.3.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "5.0.0"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.0.0"),
        .package(url: "https://github.com/vapor/postgres-nio", from: "1.21.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.5.0"),
        // The desk's local HTTP service (cccd serve) only: no optional traits (swift-configuration is not needed).
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.0.0", traits: []),
        // The desk's HTTP edge (a channel handler before Hummingbird's): already in the graph through Hummingbird.
        .package(url: "https://github.com/apple/swift-nio", from: "2.80.0"),
        .package(url: "https://github.com/apple/swift-nio-extras", from: "1.25.0"),
        // The desk runs as services in a group (graceful shutdown on SIGINT/SIGTERM): in the graph through Hummingbird.
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.0.0"),
        // The bank's relay (cccd relay): WebSocket server and the reference client; metrics for Prometheus.
        .package(url: "https://github.com/hummingbird-project/hummingbird-websocket", from: "2.0.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.0.0"),
    ],
    targets: [
        // System OpenSSL 3 (libcrypto). Only CardCrypto and its shim see it.
        .systemLibrary(
            name: "COpenSSL",
            pkgConfig: "libcrypto",
            providers: [.apt(["libssl-dev"])]
        ),
        // System pcsc-lite (winscard). Only the PCSC module sees it.
        // pkg-config adds -I/usr/include/PCSC, which pcsc-lite's own headers need (SwiftPM drops its -pthread
        // with a warning; the library links without it).
        .systemLibrary(name: "CPCSCLite", pkgConfig: "libpcsclite", providers: [.apt(["libpcsclite-dev"])]),
        // OpenJPEG (Debian's libopenjp2-7-dev) and zlib: JPEG 2000 portraits decoded and re-encoded as PNG.
        .systemLibrary(name: "COpenJPEG", pkgConfig: "libopenjp2", providers: [.apt(["libopenjp2-7-dev"])]),
        .systemLibrary(name: "CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),
        .target(name: "CImaging", dependencies: ["COpenJPEG", "CZlib"]),
        // Forwarders for OpenSSL macros and OSSL_PARAM arrays, which Swift cannot express.
        // PKCS#11 declarations come from p11-kit's pkcs11.h (Debian's libp11-kit-dev); modules are loaded with dlopen.
        .target(
            name: "CCryptoShim", dependencies: ["COpenSSL"],
            cSettings: [.unsafeFlags(["-I/usr/include/p11-kit-1"])]),
        .target(
            name: "CardCore", dependencies: [.product(name: "Logging", package: "swift-log")], swiftSettings: strict),
        .target(name: "CardCrypto", dependencies: ["CCryptoShim", "COpenSSL"], swiftSettings: strict),
        .target(name: "PCSC", dependencies: ["CardCore", "CPCSCLite"], swiftSettings: strict),
        .target(name: "ChipAccess", dependencies: ["CardCore", "CardCrypto"], swiftSettings: strict),
        .target(
            name: "LDS",
            dependencies: ["CardCore", "CardCrypto", "ChipAccess", .product(name: "SwiftASN1", package: "swift-asn1")],
            swiftSettings: strict),
        // What a chip holds (the card image, the chip's settings) and the perso command set that writes it: made by
        // data preparation, run by the emulator, written by the line.
        .target(
            name: "ChipImage", dependencies: ["CardCore", "CardCrypto", "ChipAccess", "LDS"], swiftSettings: strict),
        // Extended Access Control (EAC1): CV certificates, Terminal Authentication in both roles.
        .target(name: "EAC", dependencies: ["CardCore", "CardCrypto", "ChipAccess", "LDS"], swiftSettings: strict),
        // The trust store, Passive Authentication and its verdicts: what decides that the data is as issued.
        .target(
            name: "Verification",
            dependencies: ["CardCore", "CardCrypto", "LDS", .product(name: "SwiftASN1", package: "swift-asn1")],
            swiftSettings: strict),
        .target(
            name: "Personalization",
            dependencies: ["CardCore", "CardCrypto", "ChipAccess", "LDS", "ChipImage", "EAC", .product(name: "Yams", package: "Yams")],
            swiftSettings: strict),
        .target(
            name: "CardEmulator", dependencies: ["CardCore", "CardCrypto", "ChipAccess", "LDS", "ChipImage", "EAC"], swiftSettings: strict),
        .target(
            name: "Reader",
            dependencies: [
                "CardCore", "CardCrypto", "ChipAccess", "LDS", "EAC", "Verification", "CImaging", .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict),
        // The print line: the writer (perso scripts through any transport, read-back), the journal (GRDB on SQLite),
        // stations over PC/SC readers or emulated blank chips. Above Personalization and Reader: it needs both.
        .target(
            name: "Issuance",
            dependencies: [
                "CardCore", "CardCrypto", "ChipAccess", "LDS", "ChipImage", "EAC", "Verification", "Personalization",
                "Reader", .product(name: "GRDB", package: "GRDB.swift"),
            ],
            swiftSettings: strict),
        // The line's slots as adapters outside its core: PC/SC readers and emulated chips saved after every write.
        .target(
            name: "IssuanceSlots", dependencies: ["Issuance", "CardCore", "ChipAccess", "LDS", "ChipImage", "CardEmulator", "PCSC"],
            swiftSettings: strict),
        // The journal on PostgreSQL (PostgresNIO): one queue for several stations. Its own target so that only cccd
        // and the tests that need it pay for SwiftNIO's build.
        .target(
            name: "PostgresJournal",
            dependencies: [
                "Issuance", "CardCore", .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict),
        // What the desk's HTTP edge decides and how it reads request bodies: pure functions (fuzzed), no server.
        .target(name: "DeskProtocol", dependencies: ["CardCore"], swiftSettings: strict),
        // The desk: `cccd serve`, a local card service (Hummingbird) with the clerk's page, and its audit log (GRDB).
        .target(
            name: "Desk",
            dependencies: [
                "CardCore", "CardCrypto", "ChipAccess", "LDS", "Verification", "Reader", "PCSC", "DeskProtocol",
                "EAC", .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                .product(name: "NIOHTTPTypesHTTP1", package: "swift-nio-extras"),
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict),
        // The relay's wire: its messages (strictly parsed), errors and session tokens; pure (fuzzed), no server.
        .target(name: "RelayWire", dependencies: ["CardCore", "CardCrypto", "ChipAccess"], swiftSettings: strict),
        // The bank's relay: the server reads a card over APDUs a phone relays (a CardTransport over a WebSocket),
        // signs the report (JWS); the reference relay client; audit rows (SQLite or PostgreSQL); Prometheus metrics.
        .target(
            name: "Relay",
            dependencies: [
                "CardCore", "CardCrypto", "ChipAccess", "LDS", "Verification", "Reader", "EAC", "PostgresJournal", "RelayWire",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdWebSocket", package: "hummingbird-websocket"),
                .product(name: "HummingbirdWSClient", package: "hummingbird-websocket"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOWebSocket", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict),
        // `cccd bench`'s measurements (the CLI parses its options and prints its table).
        .target(
            name: "CCCDBench",
            dependencies: [
                "CardCore", "CardCrypto", "ChipAccess", "LDS", "ChipImage", "Verification", "CardEmulator", "Reader", "Personalization", "Issuance",
                "IssuanceSlots", "Relay", "RelayWire",
            ],
            swiftSettings: strict),
        .executableTarget(
            name: "cccd",
            dependencies: [
                "CardCore", "CardCrypto", "ChipAccess", "LDS", "ChipImage", "Verification", "CardEmulator", "Reader", "Personalization", "PCSC",
                "Issuance", "IssuanceSlots", "PostgresJournal", "Desk", "CCCDBench", "EAC", "Relay", "RelayWire", .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
        // Every fuzz target as a plain function (no fuzzer in it): BER-TLV, APDUs, LDS files, SecurityInfos, EF.SOD,
        // trust files, secure messaging, citizen records, profiles, the emulator's dispatch.
        .target(
            name: "FuzzTargets",
            dependencies: [
                "CardCore", "CardCrypto", "ChipAccess", "LDS", "ChipImage", "EAC", "Verification", "Personalization", "CardEmulator", "Reader", "DeskProtocol",
                "RelayWire",
            ],
            swiftSettings: strict),
        // Host-cost benchmarks: `make bench` (release build).
        .executableTarget(
            name: "CCCDBenchmarks",
            dependencies: ["CardCore", "CardCrypto", "ChipAccess", "LDS", "CardEmulator", "Reader"],
            path: "Benchmarks/CCCDBenchmarks", swiftSettings: strict),
        // Test helpers: the vector-file reader shared by every test target.
        .target(name: "TestSupport", dependencies: ["CardCore"], path: "Tests/TestSupport", swiftSettings: strict),
        .testTarget(name: "CardCoreTests", dependencies: ["CardCore", "TestSupport"], swiftSettings: strict),
        .testTarget(name: "CardCryptoTests", dependencies: ["CardCrypto", "TestSupport"], swiftSettings: strict),
        .testTarget(name: "ChipAccessTests", dependencies: ["ChipAccess", "TestSupport"], swiftSettings: strict),
        .testTarget(
            name: "EACTests", dependencies: ["EAC", "ChipAccess", "CardCrypto", "CardCore", "TestSupport"],
            swiftSettings: strict),
        // Sample card images for emulator, reader and integration tests.
        .target(
            name: "CardFixtures", dependencies: ["LDS", "CardEmulator", "TestSupport"], path: "Tests/CardFixtures",
            swiftSettings: strict),
        .testTarget(
            name: "LDSTests", dependencies: ["LDS", "ChipImage", "Verification", "TestSupport", .product(name: "SwiftASN1", package: "swift-asn1")],
            swiftSettings: strict),
        .testTarget(name: "PCSCTests", dependencies: ["PCSC", "TestSupport"], swiftSettings: strict),
        .testTarget(
            name: "PersonalizationTests", dependencies: ["Personalization", "TestSupport"], swiftSettings: strict),
        .testTarget(
            name: "IssuanceTests",
            dependencies: [
                "Issuance", "IssuanceSlots", .product(name: "GRDB", package: "GRDB.swift"), "Personalization", "Reader", "CardEmulator", "LDS", "ChipImage", "Verification", "ChipAccess", "CardCore", "CardCrypto",
                "TestSupport",
            ],
            swiftSettings: strict),
        .testTarget(
            name: "CardEmulatorTests", dependencies: ["CardEmulator", "ChipImage", "EAC", "CardFixtures", "TestSupport"],
            swiftSettings: strict),
        .testTarget(
            name: "IntegrationTests",
            dependencies: [
                "Reader", "CardEmulator", "LDS", "ChipImage", "EAC", "Verification", "Personalization", "PCSC", "CardFixtures", "TestSupport", "Issuance", "IssuanceSlots",
                "CardCrypto", "Desk", "FuzzTargets", "PostgresJournal", "Relay", "RelayWire", .product(name: "Yams", package: "Yams"),
                .product(name: "GRDB", package: "GRDB.swift"),
            ],
            swiftSettings: strict),
    ],
    swiftLanguageModes: [.v6]
)
