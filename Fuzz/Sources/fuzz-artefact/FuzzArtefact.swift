import Foundation
import RecCore
import RecStore
import RecData

/// libFuzzer entry, three passes over the same bytes:
/// 1. as an artefact file, read as every kind;
/// 2. the same with both checksums (and the payload size) repaired: random bytes almost never
///    get past the header checksum, so this is what lets mutated headers (section offsets,
///    frame sizes, counts, metadata) reach the code behind them, as a crafted file would;
/// 3. as a recipe for `ArtefactBuilder` (sections of the names the readers ask for, with
///    fuzzed types, lengths and contents, and fuzzed metadata): valid containers whose
///    content disagrees with itself, as a writer's bug would leave them.
/// Any thrown error is a correct answer; a trap or a sanitizer report is a finding.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    readEveryKind(bytes)
    if let repaired = withValidChecksums(bytes) { readEveryKind(repaired) }
    if let built = try? fromRecipe(bytes) { readEveryKind(built) }
    return 0
}

/// With `FUZZ_WRITE_SEEDS=<dir>` in the environment, writes valid artefacts there and exits
/// (scripts/fuzz.sh builds its seed corpus this way). libFuzzer calls this before fuzzing.
@_cdecl("LLVMFuzzerInitialize")
public func initialize(_ argc: UnsafeMutableRawPointer?, _ argv: UnsafeMutableRawPointer?) -> CInt {
    atexit {
        for suffix in ["", ".built", ".check"] { unlink(scratch + suffix) }
    }
    guard let dir = getenv("FUZZ_WRITE_SEEDS") else { return 0 }
    do {
        try writeSeeds(to: String(cString: dir))
        exit(0)
    } catch {
        FileHandle.standardError.write(Data("cannot write seeds: \(error)\n".utf8))
        exit(1)
    }
}

/// The file every input is written to: in `FUZZ_SCRATCH` (scripts/fuzz.sh points it at its
/// temp folder), else in memory-backed /dev/shm when there is one.
private let scratch: String = {
    let base = getenv("FUZZ_SCRATCH").map { String(cString: $0) + "/" }
        ?? (FileManager.default.fileExists(atPath: "/dev/shm") ? "/dev/shm/" : NSTemporaryDirectory())
    return base + "fuzz-artefact-\(getpid()).art"
}()

private let serial = Parallel(workers: 1)

private func readEveryKind(_ bytes: [UInt8]) {
    // Not AtomicFile: its fsync per input would cost more than the read under test.
    guard FileManager.default.createFile(atPath: scratch, contents: Data(bytes)) else { fatalError("cannot write \(scratch)") }
    for kind in ArtefactKind.allCases {
        guard let a = try? Artefact.read(scratch, expecting: kind) else { continue }
        for s in a.header.sections {
            switch s.type {
            case .int32: _ = try? a.array(s.name, as: Int32.self)
            case .int64: _ = try? a.array(s.name, as: Int64.self)
            case .float32: _ = try? a.array(s.name, as: Float.self)
            case .uint8: _ = try? a.array(s.name, as: UInt8.self)
            }
        }
        // The typed readers on top, which check shapes and ranges.
        switch kind {
        case .ratings, .split: _ = try? Ratings.read(scratch, kind: kind, parallel: serial)
        case .catalogue: _ = try? Catalogue.read(scratch, parallel: serial)
        case .topK: _ = try? TopKLists.read(scratch, parallel: serial)
        case .predictions: break // four plain arrays, each read above
        case .matrices, .model:
            for s in a.header.sections where s.name.hasSuffix(".rowStart") {
                _ = try? CSRMatrix.read(from: a, name: String(s.name.dropLast(".rowStart".count)), parallel: serial)
            }
        }
    }
}

/// The bytes with a valid magic and version, the header's `payloadHash` and `payloadBytes` set
/// to match the payload (when the header is JSON of the right shape), and the header checksum
/// recomputed. Nil when the bytes are too short to have a header.
private func withValidChecksums(_ bytes: [UInt8]) -> [UInt8]? {
    let p = ArtefactFormat.prefixBytes
    guard bytes.count >= p + 8 else { return nil }
    let headerLength = Int(bytes[12]) | Int(bytes[13]) << 8 | Int(bytes[14]) << 16 | Int(bytes[15]) << 24
    guard headerLength <= bytes.count - p - 8 else { return nil }
    var json = Array(bytes[p..<(p + headerLength)])
    let payload = Array(bytes[(p + headerLength + 8)...])
    if var header = try? JSONDecoder().decode(ArtefactHeader.self, from: Data(json)) {
        header.payloadHash = Hash.hex(Hash.xxh3(payload))
        header.payloadBytes = payload.count
        guard let encoded = try? JSON.encode(header) else { return nil }
        json = Array(encoded)
    }
    var out = ArtefactFormat.magic
    appendLE(&out, ArtefactFormat.version)
    out += bytes[10..<12]  // the kind, as fuzzed
    appendLE(&out, UInt32(json.count))
    out += json
    appendLE(&out, Hash.xxh3(out))
    out += payload
    return out
}

/// Section names the typed readers ask for, with the type they expect, and metadata keys they
/// read.
private let sectionNames: [(name: String, type: ElementType)] = [
    ("user", .int32), ("item", .int32), ("rating", .float32), ("timestamp", .int64), ("userIds", .int32),
    ("itemIds", .int32), ("movieIds", .int32), ("titles", .uint8), ("titleEnds", .int64), ("genres", .uint8),
    ("genreEnds", .int64), ("items", .int32), ("scores", .float32), ("predictedRatings", .float32),
    ("train.rowStart", .int64), ("train.columns", .int32), ("train.values", .float32),
]
private let metaKeys = ["k", "users", "items", "ratings", "movies", "train.shape"]

/// Reads the bytes as: kind, then up to 8 sections (name, type, length, raw contents), then
/// metadata entries (key, value), and writes that with `ArtefactBuilder`. Nil for no bytes.
private func fromRecipe(_ bytes: [UInt8]) throws -> [UInt8]? {
    var r = Reader(bytes: bytes)
    guard let k = r.byte() else { return nil }
    var b = ArtefactBuilder(kind: ArtefactKind.allCases[Int(k) % ArtefactKind.allCases.count])
    var used = Set<String>()
    for _ in 0..<8 {
        guard let n = r.byte(), let t = r.byte(), let length = r.byte() else { break }
        if n >= 0xF0 { break }  // end of sections
        let (name, expected) = sectionNames[Int(n) % sectionNames.count]
        guard used.insert(name).inserted else { continue }
        let count = Int(length) % 48
        // Mostly the type the reader expects, so that coverage gets past the type check.
        let types: [ElementType] = [.int32, .int64, .float32, .uint8]
        switch t % 8 == 7 ? types[Int(t >> 3) % 4] : expected {
        case .int32: b.add(name, r.values(count, as: Int32.self))
        case .int64: b.add(name, r.values(count, as: Int64.self))
        case .float32: b.add(name, r.values(count, as: Float.self))
        case .uint8: b.add(name, r.values(count, as: UInt8.self))
        }
    }
    while let key = r.byte(), let t = r.byte() {
        let name = metaKeys[Int(key) % metaKeys.count]
        switch t % 4 {
        case 0: b.meta[name] = .int(r.integer())
        case 1: b.meta[name] = .double(Double(bitPattern: UInt64(bitPattern: r.values(1, as: Int64.self)[0])))
        case 2: b.meta[name] = .array((0..<3).map { _ in .int(r.integer()) })
        default: b.meta[name] = .string("x")
        }
    }
    try b.write(to: scratch + ".built", parallel: serial, level: 1)
    return try AtomicFile.read(scratch + ".built")
}

/// Takes bytes from the front; zeros once they run out.
private struct Reader {
    let bytes: [UInt8]
    var at = 0

    mutating func byte() -> UInt8? {
        guard at < bytes.count else { return nil }
        defer { at += 1 }
        return bytes[at]
    }

    /// A tag byte, then a small number, a full 64-bit one, or one of the edge values that
    /// random bytes would hardly ever spell.
    mutating func integer() -> Int {
        let tag = byte() ?? 0
        switch tag % 4 {
        case 0: return Int(Int8(bitPattern: byte() ?? 0))
        case 1: return Int(values(1, as: Int64.self)[0])
        case 2: return [Int.max, Int.min, Int.max / 2 + 1, Int(Int32.max), Int(Int32.max) + 1, -1][Int(tag / 4) % 6]
        default: return Int(values(1, as: Int32.self)[0])
        }
    }

    mutating func values<T: ArtefactElement>(_ count: Int, as: T.Type) -> [T] {
        let size = MemoryLayout<T>.size
        var raw = [UInt8](repeating: 0, count: count * size)
        let n = min(raw.count, bytes.count - at)
        raw.replaceSubrange(0..<n, with: bytes[at..<(at + n)])
        at += n
        return raw.withUnsafeBytes { Array($0.bindMemory(to: T.self)) }
    }
}

private func appendLE<T: FixedWidthInteger>(_ bytes: inout [UInt8], _ value: T) {
    withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) }
}

/// One small valid artefact of each kind, written by the library's own writers.
private func writeSeeds(to dir: String) throws {
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    let ids = IdMaps(userIds: [1, 5, 9], itemIds: [10, 20, 30, 40])
    let ratings = Ratings(users: [0, 0, 1, 2, 2], items: [0, 3, 1, 0, 2], values: [5, 3.5, 1, 4, 2],
                          timestamps: [978_300_760, 978_302_109, -1, 978_301_968, 978_300_275], ids: ids)
    try ratings.write(to: dir + "/ratings.art", kind: .ratings, meta: ["source": .string("seed")], parallel: serial)
    try ratings.write(to: dir + "/split.art", kind: .split, meta: [:], parallel: serial)
    let catalogue = Catalogue(movieIds: [10, 20, 30, 40],
                              titles: ["Toy Story (1995)", "Misérables, Les (1995)", "Heat (1995)", "Rain (1932)"],
                              genres: [["Animation", "Children's"], ["Drama"], [], ["Drama", "War"]])
    try catalogue.write(to: dir + "/catalogue.art", meta: [:], parallel: serial)
    var matrices = ArtefactBuilder(kind: .matrices)
    CSRMatrix(ratings).add(to: &matrices, name: "train")
    try matrices.write(to: dir + "/matrices.art", parallel: serial)
    var model = ArtefactBuilder(kind: .model)
    model.meta = ["type": .string("user-autoencoder"), "hidden": .array([.int(2)]), "loss": .double(0.5)]
    model.add("weights", [Float](repeating: 0.25, count: 24))
    model.add("shape", [Int64(4), 2])
    model.add("flags", [UInt8](repeating: 1, count: 3))
    model.add("empty", [Int32]())
    try model.write(to: dir + "/model.art", parallel: serial)
    let topK = TopKLists(k: 2, items: [1, 2, 3, -1, 0, 3], scores: [0.9, 0.5, 0.8, 0, 0.7, 0.6],
                         predictedRatings: [4.5, 4, 4.2, 0, 3.9, 3.8], ids: ids)
    try topK.write(to: dir + "/topk.art", meta: [:], parallel: serial)

    // Recipes (pass 3) that give each typed reader a consistent artefact to start from.
    func bytes<T: ArtefactElement>(_ values: [T]) -> [UInt8] { values.withUnsafeBytes { Array($0) } }
    func section(_ name: String, _ values: [UInt8], count: Int) -> [UInt8] {
        [UInt8(sectionNames.firstIndex { $0.name == name }!), 0, UInt8(count)] + values
    }
    let recipes: [String: [UInt8]] = [
        "ratings": [UInt8(ArtefactKind.ratings.rawValue - 1)]
            + section("userIds", bytes([Int32(1), 5]), count: 2) + section("itemIds", bytes([Int32(10), 20]), count: 2)
            + section("user", bytes([Int32(0), 1]), count: 2) + section("item", bytes([Int32(1), 0]), count: 2)
            + section("rating", bytes([Float(5), 3.5]), count: 2) + section("timestamp", bytes([Int64(1), -1]), count: 2)
            + [0xFF, 0, 0, 0],
        "catalogue": [UInt8(ArtefactKind.catalogue.rawValue - 1)]
            + section("movieIds", bytes([Int32(1), 2]), count: 2) + section("titles", Array("AB".utf8), count: 2)
            + section("titleEnds", bytes([Int64(1), 2]), count: 2) + section("genres", Array("D".utf8), count: 1)
            + section("genreEnds", bytes([Int64(0), 1]), count: 2) + [0xFF, 0, 0, 0],
        "topk": [UInt8(ArtefactKind.topK.rawValue - 1)]
            + section("userIds", bytes([Int32(1), 5]), count: 2) + section("itemIds", bytes([Int32(10), 20]), count: 2)
            + section("items", bytes([Int32(1), 0, 0, -1]), count: 4) + section("scores", bytes([Float(1), 0.5, 1, 0]), count: 4)
            + section("predictedRatings", bytes([Float(4), 3, 5, 0]), count: 4) + [0xFF, 0, 0]
            + [UInt8(metaKeys.firstIndex(of: "k")!), 0, 0, 2],
        "matrices": [UInt8(ArtefactKind.matrices.rawValue - 1)]
            + section("train.rowStart", bytes([Int64(0), 1, 2]), count: 3) + section("train.columns", bytes([Int32(0), 1]), count: 2)
            + section("train.values", bytes([Float(5), 4]), count: 2) + [0xFF, 0, 0]
            + [UInt8(metaKeys.firstIndex(of: "train.shape")!), 2, 0, 2, 0, 2, 0, 2],
    ]
    for (name, recipe) in recipes {
        try AtomicFile.write(recipe, to: dir + "/recipe-\(name).bin")
        // Each recipe must build what it says, or it seeds nothing.
        guard let built = try fromRecipe(recipe) else { throw RecError(.runtime, "recipe \(name) is empty") }
        try AtomicFile.write(built, to: scratch + ".check")
        switch name {
        case "ratings": _ = try Ratings.read(scratch + ".check", kind: .ratings, parallel: serial)
        case "catalogue": _ = try Catalogue.read(scratch + ".check", parallel: serial)
        case "topk": _ = try TopKLists.read(scratch + ".check", parallel: serial)
        default: _ = try CSRMatrix.read(from: Artefact.read(scratch + ".check", expecting: .matrices), name: "train", parallel: serial)
        }
    }
    try? FileManager.default.removeItem(atPath: scratch + ".check")
    try? FileManager.default.removeItem(atPath: scratch + ".built")
}
