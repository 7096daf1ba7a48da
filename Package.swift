// swift-tools-version:6.1
// The movie recommender: a batch pipeline of staged executables over one shared library.
//
// Table of contents:
//   RecKit      artefacts (zstd container), settings, ratings / CSR / catalogue types,
//               MovieLens parsers, split, exports, atomic files, Dispatch helpers
//   RecKernels  the hot loops: SIMD kernels beside their plain reference twins, and the one
//               door to BLAS (compiled for the host's vector unit on x86_64)
//   RecModels   autoencoders, optimisers, baselines, EASE, scoring / top-k
//   RecEval     metrics and the HTML report
//   RecStages   the six stages, manifests and the pipeline runner (what the executables call)
//   RecCLI      shared command-line options, logging set-up and exit codes
//   RecSynth    synthetic MovieLens-shaped data (rec-synth, rec-bench --synthetic) for the
//               benchmarks
//   RecTestSupport  what the test targets share (in Tests/)
//   rec-*       thin executables, one per stage, plus the runner, the inspector, the benchmark
//               and the data generator
//   C*          system libraries: libzstd, OpenBLAS, xxHash (apt: libzstd-dev libopenblas-dev
//               libxxhash-dev); CKernelSupport: what the kernels need
//               from C (prefetch, a vector square root, the AVX-512 kernels)
import PackageDescription

// Swift on x86_64 targets baseline SSE2 unless told otherwise: SIMD8 multiply-add then becomes a
// libm call per lane. Only the kernel module gets a wider target, and only on x86_64, so the
// package still builds elsewhere.
#if arch(x86_64)
let kernelFlags: [SwiftSetting] = [.unsafeFlags(["-target-cpu", "haswell"])]
#else
let kernelFlags: [SwiftSetting] = []
#endif

let stageExecutables = [
    "rec-ingest", "rec-split", "rec-build-matrix", "rec-train", "rec-score", "rec-export",
    "rec-pipeline", "rec-inspect",
]

let package = Package(
    name: "MovieRecommender",
    platforms: [.macOS(.v13)],
    products: stageExecutables.map { .executable(name: $0, targets: [$0]) } + [
        .executable(name: "rec-bench", targets: ["rec-bench"]),
        .executable(name: "rec-synth", targets: ["rec-synth"]),
        .library(name: "RecStages", targets: ["RecStages"]),
        .library(name: "RecKit", targets: ["RecKit"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
    ],
    targets: [
        .target(
            name: "RecKit",
            dependencies: [
                "CZstd", "CXXHash",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .target(name: "RecKernels", dependencies: ["COpenBLAS", "CKernelSupport"], swiftSettings: kernelFlags),
        // What the kernels need from C: software prefetch and a vector square root (builtins Swift
        // has no word for), and the AVX-512 kernels (a per-function target, chosen at run time).
        .target(name: "CKernelSupport"),
        .target(name: "RecModels", dependencies: ["RecKit", "RecKernels"]),
        .target(name: "RecEval", dependencies: ["RecKit"]),
        .target(name: "RecStages", dependencies: ["RecKit", "RecKernels", "RecModels", "RecEval", "RecSynth"]),
        .target(
            name: "RecCLI",
            dependencies: [
                "RecStages",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .executableTarget(name: "rec-ingest", dependencies: ["RecCLI"]),
        .executableTarget(name: "rec-split", dependencies: ["RecCLI"]),
        .executableTarget(name: "rec-build-matrix", dependencies: ["RecCLI"]),
        .executableTarget(name: "rec-train", dependencies: ["RecCLI"]),
        .executableTarget(name: "rec-score", dependencies: ["RecCLI"]),
        .executableTarget(name: "rec-export", dependencies: ["RecCLI"]),
        .executableTarget(name: "rec-pipeline", dependencies: ["RecCLI"]),
        .executableTarget(name: "rec-inspect", dependencies: ["RecCLI"]),
        .executableTarget(name: "rec-bench", dependencies: ["RecCLI", "RecModels"]),
        // Synthetic MovieLens-shaped data for the scale benchmark (`make bench-scale`).
        .target(name: "RecSynth", dependencies: ["RecKit"]),
        .executableTarget(
            name: "rec-synth",
            dependencies: ["RecSynth", .product(name: "ArgumentParser", package: "swift-argument-parser")]
        ),

        // System libraries: the only doors are RecKit/Zstd.swift, RecKit/Hash.swift and
        // RecKernels/BLAS.swift.
        .systemLibrary(name: "CZstd", pkgConfig: "libzstd", providers: [.apt(["libzstd-dev"])]),
        .systemLibrary(name: "COpenBLAS", pkgConfig: "openblas", providers: [.apt(["libopenblas-dev"])]),
        .systemLibrary(name: "CXXHash", pkgConfig: "libxxhash", providers: [.apt(["libxxhash-dev"])]),

        // What the test targets share: a temporary folder and an expectation of a RecError.
        .target(name: "RecTestSupport", dependencies: ["RecKit"], path: "Tests/RecTestSupport"),
        .testTarget(name: "RecKitTests", dependencies: ["RecKit", "RecTestSupport"]),
        .testTarget(name: "RecKernelsTests", dependencies: ["RecKernels"]),
        .testTarget(name: "RecModelsTests", dependencies: ["RecModels"]),
        .testTarget(name: "RecEvalTests", dependencies: ["RecEval", "RecTestSupport"]),
        .testTarget(name: "RecStagesTests", dependencies: ["RecStages", "RecTestSupport", .product(name: "Logging", package: "swift-log")]),
        .testTarget(name: "EndToEndTests", dependencies: ["RecKit"]),
        .testTarget(name: "RecSynthTests", dependencies: ["RecSynth"]),
    ],
    swiftLanguageModes: [.v6]
)
