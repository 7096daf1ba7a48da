// swift-tools-version:6.1
// The movie recommender: a batch pipeline of staged executables over a stack of small modules,
// each of one concern and each depending only on the modules below it (docs/architecture.md).
//
// Table of contents, bottom up:
//   RecCore      errors, the JSON value, settings names, Dispatch helpers (Parallel, WorkerTeam),
//                random numbers, memory planning, counting sort, subprocesses, text for logs
//   RecStore     files: the zstd artefact container, its hashes, atomic publication, plain-file
//                reads, file modes and the run's own temporary files and locks (RunState)
//   RecData      MovieLens: parsers, ingest, ratings / CSR / catalogue, the split, top-k lists,
//                the exports (CSV, JSON lines) and rating errors
//   RecKernels   the hot loops: SIMD kernels beside their plain reference twins, and the one
//                door to BLAS (compiled for the host's vector unit on x86_64)
//   RecModels    model settings, autoencoders, optimisers, baselines, EASE, scoring / top-k
//   RecEval      ranking metrics, the metrics file and the HTML report
//   RecPipeline  pipeline settings, the six stages (one file each group), manifests, the runner,
//                folder claims and locks, the inspector
//   RecOps       running it in production: Slurm job arrays, cluster runs, monitoring
//   RecCLI       shared command-line options, logging set-up, signals and exit codes
//   RecSynth     synthetic MovieLens-shaped data (rec-synth, the scale benchmark)
//   RecBench     the benchmarks (rec-bench only; never linked into a stage executable)
//   rec-*        thin executables: one per stage, the runner, the inspector, the benchmark and
//                the data generator
//   C*           system libraries: libzstd, OpenBLAS, xxHash (apt: libzstd-dev libopenblas-dev
//                libxxhash-dev); CKernelSupport: what the kernels need from C (prefetch, a
//                vector square root, the AVX-512 kernels)
//   RecTestSupport  what the test targets share (in Tests/)
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
        // The readers of untrusted bytes, for the fuzz harnesses (Fuzz/, a package of its own).
        .library(name: "RecCore", targets: ["RecCore"]),
        .library(name: "RecStore", targets: ["RecStore"]),
        .library(name: "RecData", targets: ["RecData"]),
        .library(name: "RecPipeline", targets: ["RecPipeline"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
    ],
    targets: [
        .target(name: "RecCore"),
        .target(name: "RecStore", dependencies: ["RecCore", "CZstd", "CXXHash"]),
        .target(name: "RecData", dependencies: ["RecCore", "RecStore"]),
        .target(name: "RecKernels", dependencies: ["COpenBLAS", "CKernelSupport"], swiftSettings: kernelFlags),
        // What the kernels need from C: software prefetch and a vector square root (builtins Swift
        // has no word for), and the AVX-512 kernels (a per-function target, chosen at run time).
        .target(name: "CKernelSupport"),
        .target(name: "RecModels", dependencies: ["RecCore", "RecStore", "RecData", "RecKernels"]),
        .target(name: "RecEval", dependencies: ["RecCore", "RecData", "RecModels"]),
        .target(
            name: "RecPipeline",
            dependencies: ["RecCore", "RecStore", "RecData", "RecModels", "RecEval", .product(name: "Logging", package: "swift-log")]
        ),
        .target(name: "RecOps", dependencies: ["RecCore", "RecStore", "RecData", "RecPipeline", .product(name: "Logging", package: "swift-log")]),
        .target(
            name: "RecCLI",
            dependencies: [
                "RecCore", "RecStore", "RecPipeline", "RecOps",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .executableTarget(name: "rec-ingest", dependencies: ["RecCLI", "RecPipeline", .product(name: "ArgumentParser", package: "swift-argument-parser")]),
        .executableTarget(name: "rec-split", dependencies: ["RecCLI", "RecPipeline", .product(name: "ArgumentParser", package: "swift-argument-parser")]),
        .executableTarget(name: "rec-build-matrix", dependencies: ["RecCLI", "RecPipeline", .product(name: "ArgumentParser", package: "swift-argument-parser")]),
        .executableTarget(name: "rec-train", dependencies: ["RecCLI", "RecPipeline", .product(name: "ArgumentParser", package: "swift-argument-parser")]),
        .executableTarget(name: "rec-score", dependencies: ["RecCLI", "RecPipeline", .product(name: "ArgumentParser", package: "swift-argument-parser")]),
        .executableTarget(name: "rec-export", dependencies: ["RecCLI", "RecPipeline", .product(name: "ArgumentParser", package: "swift-argument-parser")]),
        .executableTarget(
            name: "rec-pipeline",
            dependencies: ["RecCLI", "RecCore", "RecStore", "RecPipeline", "RecOps", .product(name: "ArgumentParser", package: "swift-argument-parser")]
        ),
        .executableTarget(name: "rec-inspect", dependencies: ["RecCLI", "RecCore", "RecPipeline", .product(name: "ArgumentParser", package: "swift-argument-parser")]),
        // Synthetic MovieLens-shaped data for the scale benchmark (`make bench-scale`).
        .target(name: "RecSynth", dependencies: ["RecCore", "RecData"]),
        .executableTarget(
            name: "rec-synth",
            dependencies: ["RecCore", "RecStore", "RecPipeline", "RecSynth", .product(name: "ArgumentParser", package: "swift-argument-parser")]
        ),
        .target(
            name: "RecBench",
            dependencies: ["RecCore", "RecStore", "RecData", "RecKernels", "RecModels", "RecEval", "RecPipeline", "RecSynth", .product(name: "Logging", package: "swift-log")]
        ),
        .executableTarget(name: "rec-bench", dependencies: ["RecBench", "RecCLI", "RecCore", "RecModels", "RecSynth", .product(name: "ArgumentParser", package: "swift-argument-parser")]),

        // System libraries: the only doors are RecStore/Zstd.swift, RecStore/Hash.swift and
        // RecKernels/BLAS.swift.
        .systemLibrary(name: "CZstd", pkgConfig: "libzstd", providers: [.apt(["libzstd-dev"])]),
        .systemLibrary(name: "COpenBLAS", pkgConfig: "openblas", providers: [.apt(["libopenblas-dev"])]),
        .systemLibrary(name: "CXXHash", pkgConfig: "libxxhash", providers: [.apt(["libxxhash-dev"])]),

        // What the test targets share: a temporary folder, plain file writes, hostile text and an
        // expectation of a RecError. Unit tests per module; EndToEndTests runs the executables.
        .target(name: "RecTestSupport", dependencies: ["RecCore"], path: "Tests/RecTestSupport"),
        .testTarget(name: "RecCoreTests", dependencies: ["RecCore", "RecTestSupport", "RecData", "RecModels", "RecPipeline"]),
        .testTarget(name: "RecStoreTests", dependencies: ["RecStore", "RecTestSupport", "RecCore", "RecData", "RecPipeline"]),
        .testTarget(name: "RecDataTests", dependencies: ["RecData", "RecTestSupport", "RecCore", "RecStore", "RecPipeline"]),
        .testTarget(name: "RecKernelsTests", dependencies: ["RecKernels", "RecTestSupport"]),
        .testTarget(name: "RecModelsTests", dependencies: ["RecModels", "RecTestSupport", "RecCore", "RecStore", "RecData", "RecKernels"]),
        .testTarget(name: "RecEvalTests", dependencies: ["RecEval", "RecTestSupport", "RecCore", "RecData", "RecModels"]),
        .testTarget(
            name: "RecPipelineTests",
            dependencies: [
                "RecPipeline", "RecOps", "RecTestSupport", "RecCore", "RecStore", "RecData", "RecModels",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .testTarget(name: "RecSynthTests", dependencies: ["RecSynth", "RecCore", "RecData"]),
        .testTarget(name: "RecBenchTests", dependencies: ["RecBench", "RecData", "RecStore", "RecTestSupport"]),
        .testTarget(name: "EndToEndTests", dependencies: ["RecCore", "RecStore", "RecData", "RecPipeline", "RecTestSupport"]),
    ],
    swiftLanguageModes: [.v6]
)
