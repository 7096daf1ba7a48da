// swift-tools-version:6.1
// Fuzz targets for the readers of untrusted bytes: the MovieLens text parsers, the settings
// file parser and the artefact container. A separate package so that the sanitizer flags never touch the main build.
//
// Build (libFuzzer ships with the toolchain's clang runtime, Linux only):
//   swift build -c release -Xswiftc -sanitize=fuzzer,address -Xswiftc -use-ld=lld
// No -parse-as-library: SwiftPM links executables with `--defsym main=<module>_main`, so each
// target has a main.swift that hands its LLVMFuzzerTestOneInput to LLVMFuzzerRunDriver.
// lld rather than the default gold, which warns about an ASan runtime symbol.
// Run: scripts/fuzz.sh [seconds per target]
import PackageDescription

let package = Package(
    name: "RecFuzz",
    platforms: [.macOS(.v13)],
    dependencies: [
        .package(name: "MovieRecommender", path: ".."),
    ],
    targets: [
        .executableTarget(
            name: "fuzz-ratings",
            dependencies: ["CFuzzerDriver", .product(name: "RecCore", package: "MovieRecommender"), .product(name: "RecData", package: "MovieRecommender")]
        ),
        .executableTarget(
            name: "fuzz-settings",
            dependencies: [
                "CFuzzerDriver", .product(name: "RecCore", package: "MovieRecommender"), .product(name: "RecData", package: "MovieRecommender"),
                .product(name: "RecPipeline", package: "MovieRecommender"),
            ]
        ),
        .executableTarget(
            name: "fuzz-artefact",
            dependencies: ["CFuzzerDriver", .product(name: "RecCore", package: "MovieRecommender"), .product(name: "RecStore", package: "MovieRecommender"), .product(name: "RecData", package: "MovieRecommender")]
        ),
        .target(name: "CFuzzerDriver"),
    ],
    swiftLanguageModes: [.v6]
)
