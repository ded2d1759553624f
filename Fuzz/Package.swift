// swift-tools-version: 6.1
// cccd-fuzz: every FuzzTargets function under libFuzzer. Built only by `make fuzz` (scripts/fuzz.sh), with
// `-sanitize=fuzzer,address` on every Swift module, into its own build folder; never part of `make test`.
import PackageDescription

let package = Package(
    name: "CCCDKitFuzz",
    platforms: [.macOS(.v14)],
    dependencies: [.package(name: "CCCDKit", path: "..")],
    targets: [
        .executableTarget(
            name: "cccd-fuzz", dependencies: [.product(name: "FuzzTargets", package: "CCCDKit")],
            swiftSettings: [.enableUpcomingFeature("ExistentialAny")])
    ],
    swiftLanguageModes: [.v6]
)
