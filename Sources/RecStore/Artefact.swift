import Foundation
import RecCore

/// What an artefact holds; each kind is written by one stage.
public enum ArtefactKind: UInt16, Sendable, CaseIterable, Codable {
    case ratings = 1
    case catalogue = 2
    case split = 3
    case matrices = 4
    case model = 5
    case topK = 6
    /// The evaluation's test predictions of the rating model (`eval-predictions.art`).
    case predictions = 7

    public var name: String {
        switch self {
        case .ratings: "ratings"
        case .catalogue: "catalogue"
        case .split: "split"
        case .matrices: "matrices"
        case .model: "model"
        case .topK: "topk"
        case .predictions: "predictions"
        }
    }

    /// The stage that writes this kind: what to rerun when one is damaged.
    public var producer: String {
        switch self {
        case .ratings, .catalogue: "rec-ingest"
        case .split: "rec-split"
        case .matrices: "rec-build-matrix"
        case .model: "rec-train"
        case .topK, .predictions: "rec-score"
        }
    }
}

/// Element types a section can hold.
public enum ElementType: String, Codable, Sendable {
    case int32, int64, float32, uint8

    public var size: Int {
        switch self {
        case .int32, .float32: 4
        case .int64: 8
        case .uint8: 1
        }
    }
}

public protocol ArtefactElement: BitwiseCopyable, Sendable {
    static var elementType: ElementType { get }
}
extension Int32: ArtefactElement { public static var elementType: ElementType { .int32 } }
extension Int64: ArtefactElement { public static var elementType: ElementType { .int64 } }
extension Float: ArtefactElement { public static var elementType: ElementType { .float32 } }
extension UInt8: ArtefactElement { public static var elementType: ElementType { .uint8 } }

/// The JSON part of an artefact's header: shapes, sizes, checksums and free-form metadata.
public struct ArtefactHeader: Codable, Sendable, Equatable {
    public struct Frame: Codable, Sendable, Equatable {
        var elements: Int
        public var bytes: Int
    }

    public struct Section: Codable, Sendable, Equatable {
        public var name: String
        public var type: ElementType
        public var count: Int
        /// Byte offset of the section's first frame inside the payload.
        public var offset: Int
        public var frames: [Frame]
        public var compressedBytes: Int { frames.reduce(0) { $0 + $1.bytes } }
    }

    public var kind: String
    public var formatVersion: Int
    public var payloadBytes: Int
    /// XXH3-64 of the payload, hex.
    public var payloadHash: String
    public var sections: [Section]
    public var meta: [String: JSONValue]
}

/// The artefact file format.
///
/// ```
/// 0   8 bytes  magic "MLRECART"
/// 8   u16 LE   format version
/// 10  u16 LE   kind
/// 12  u32 LE   length H of the JSON header
/// 16  H bytes  JSON header (ArtefactHeader): sections, element counts, frame sizes, metadata
/// 16+H u64 LE  XXH3-64 of bytes 0 ..< 16+H
/// 24+H ...     payload: independent zstd frames (each with its content checksum)
/// ```
///
/// Sections are cut into frames of at most `frameElements` elements, compressed and
/// decompressed in parallel. The header has no timestamps: the same content gives the same
/// bytes, which is what lets runs with 1 or N workers be compared byte for byte.
public enum ArtefactFormat {
    public static let magic: [UInt8] = Array("MLRECART".utf8)
    public static let version: UInt16 = 1
    public static let prefixBytes = 16
    static let frameElements = 1 << 20
}

/// Collects sections, then writes them as one artefact.
public struct ArtefactBuilder {
    public let kind: ArtefactKind
    public var meta: [String: JSONValue] = [:]
    /// The sections to write: each keeps its array (arrays are copied on write, so holding
    /// one costs nothing) and compresses a range of its elements on demand.
    private var pending: [(name: String, type: ElementType, count: Int, compress: (Range<Int>, Int32) throws -> [UInt8])] = []

    public init(kind: ArtefactKind) { self.kind = kind }

    public mutating func add<T: ArtefactElement>(_ name: String, _ values: [T]) {
        precondition(!pending.contains { $0.name == name }, "section \(name) added twice")
        pending.append((name, T.elementType, values.count, { range, level in
            try values.withUnsafeBytes { raw in
                let size = MemoryLayout<T>.stride
                return try Zstd.compress(UnsafeRawBufferPointer(rebasing: raw[(range.lowerBound * size)..<(range.upperBound * size)]), level: level)
            }
        }))
    }

    /// Compresses every frame (in parallel) and writes the file atomically: the header, then
    /// the frames one after the other, never joined in memory (a model of 1 GB takes about
    /// 1 GB more to write, its compressed frames, not four copies).
    public func write(to path: String, parallel: Parallel, level: Int32 = 3) throws {
        struct Job { let section: Int; let range: Range<Int> }
        var jobs: [Job] = []
        for (s, p) in pending.enumerated() {
            let elementsPerFrame = ArtefactFormat.frameElements
            if p.count == 0 { jobs.append(Job(section: s, range: 0..<0)) }
            for start in stride(from: 0, to: p.count, by: elementsPerFrame) {
                jobs.append(Job(section: s, range: start..<min(start + elementsPerFrame, p.count)))
            }
        }
        let sections = pending
        let frames: [[UInt8]] = try parallel.mapChunks(count: jobs.count, chunkSize: 1) { r in
            let job = jobs[r.lowerBound]
            return try sections[job.section].compress(job.range, level)
        }
        var headerSections: [ArtefactHeader.Section] = pending.map {
            .init(name: $0.name, type: $0.type, count: $0.count, offset: 0, frames: [])
        }
        var payloadBytes = 0
        for (job, frame) in zip(jobs, frames) {
            if headerSections[job.section].frames.isEmpty { headerSections[job.section].offset = payloadBytes }
            headerSections[job.section].frames.append(.init(elements: job.range.count, bytes: frame.count))
            payloadBytes += frame.count
        }
        let header = ArtefactHeader(
            kind: kind.name, formatVersion: Int(ArtefactFormat.version), payloadBytes: payloadBytes,
            payloadHash: Hash.hex(Hash.xxh3(parts: frames)), sections: headerSections, meta: meta)
        let json = [UInt8](try JSON.encode(header))
        var prefix = ArtefactFormat.magic
        prefix.reserveCapacity(json.count + 32)
        appendLE(&prefix, ArtefactFormat.version)
        appendLE(&prefix, kind.rawValue)
        appendLE(&prefix, UInt32(json.count))
        prefix.append(contentsOf: json)
        appendLE(&prefix, Hash.xxh3(prefix))
        try AtomicFile.write(parts: [prefix] + frames, to: path)
    }
}

private func appendLE<T: FixedWidthInteger>(_ bytes: inout [UInt8], _ value: T) {
    withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) }
}

private func readLE<T: FixedWidthInteger>(_ bytes: [UInt8], at offset: Int, as: T.Type) -> T {
    var value = T.zero
    withUnsafeMutableBytes(of: &value) { dst in
        for i in 0..<MemoryLayout<T>.size { dst[i] = bytes[offset + i] }
    }
    return T(littleEndian: value)
}

/// A verified artefact in memory. Sections are decompressed when asked for.
public struct Artefact: Sendable {
    public let path: String
    public let kind: ArtefactKind
    public let header: ArtefactHeader
    private let bytes: [UInt8]
    private let payloadStart: Int

    /// Reads and verifies an artefact: magic, version, kind, header checksum, length (a
    /// truncated file is caught here), payload checksum, frame bounds.
    public static func read(_ path: String, expecting expected: ArtefactKind) throws -> Artefact {
        let fail = { (what: String) -> RecError in
            RecError(.artefact, what, file: path, hint: "rerun \(expected.producer) to write it again")
        }
        guard FileManager.default.fileExists(atPath: path) else {
            throw RecError(.artefact, "artefact not found", file: path, hint: "run \(expected.producer) first")
        }
        let bytes = try AtomicFile.read(path)
        let p = ArtefactFormat.prefixBytes
        guard bytes.count >= p + 8, Array(bytes[0..<8]) == ArtefactFormat.magic else {
            throw fail("not an artefact of this program (bad magic number or too short)")
        }
        let version = readLE(bytes, at: 8, as: UInt16.self)
        guard version == ArtefactFormat.version else {
            throw fail("artefact format version \(version), this program reads version \(ArtefactFormat.version)")
        }
        let kindRaw = readLE(bytes, at: 10, as: UInt16.self)
        let headerLength = Int(readLE(bytes, at: 12, as: UInt32.self))
        guard headerLength <= bytes.count - p - 8 else { throw fail("truncated: header runs past the end of the file") }
        let storedHash = readLE(bytes, at: p + headerLength, as: UInt64.self)
        let actualHash = bytes.withUnsafeBytes { Hash.xxh3(UnsafeRawBufferPointer(rebasing: $0[0..<(p + headerLength)])) }
        guard storedHash == actualHash else { throw fail("header checksum mismatch: the file is corrupted") }
        guard let kind = ArtefactKind(rawValue: kindRaw) else { throw fail("unknown artefact kind \(kindRaw)") }
        guard kind == expected else { throw fail("is a \(kind.name) artefact, expected \(expected.name)") }
        let header: ArtefactHeader
        do {
            header = try JSONDecoder().decode(ArtefactHeader.self, from: Data(bytes[p..<(p + headerLength)]))
        } catch {
            throw fail("header is not valid: \(error)")
        }
        let payloadStart = p + headerLength + 8
        let payloadBytes = bytes.count - payloadStart
        guard payloadBytes == header.payloadBytes else {
            throw fail(payloadBytes < header.payloadBytes
                ? "truncated: payload has \(payloadBytes) of \(header.payloadBytes) bytes"
                : "payload has \(payloadBytes) bytes, header says \(header.payloadBytes)")
        }
        let payloadHash = bytes.withUnsafeBytes { Hash.hex(Hash.xxh3(UnsafeRawBufferPointer(rebasing: $0[payloadStart...]))) }
        guard payloadHash == header.payloadHash else { throw fail("payload checksum mismatch: the file is corrupted") }
        for s in header.sections {
            // Frame by frame, so that no sum overflows and no slice in `array` is inverted
            // (a negative size in a header with a valid checksum used to trap there).
            guard s.offset >= 0, s.offset <= payloadBytes else { throw fail("section \(s.name) does not fit the payload") }
            var end = s.offset, elements = 0
            for f in s.frames {
                guard f.bytes >= 0, f.bytes <= payloadBytes - end, (0...ArtefactFormat.frameElements).contains(f.elements) else {
                    throw fail("section \(s.name) does not fit the payload")
                }
                end += f.bytes
                elements += f.elements
            }
            guard elements == s.count else { throw fail("section \(s.name) does not fit the payload") }
        }
        return Artefact(path: path, kind: kind, header: header, bytes: bytes, payloadStart: payloadStart)
    }

    /// Reads and verifies an artefact's header alone (magic, version, kind, header checksum),
    /// without reading its payload: for the counts in its meta.
    public static func readHeader(_ path: String, expecting expected: ArtefactKind) throws -> ArtefactHeader {
        let fail = { (what: String) -> RecError in
            RecError(.artefact, what, file: path, hint: "rerun \(expected.producer) to write it again")
        }
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw RecError(.artefact, "artefact not found", file: path, hint: "run \(expected.producer) first")
        }
        defer { try? handle.close() }
        let p = ArtefactFormat.prefixBytes
        let prefix = [UInt8]((try? handle.read(upToCount: p)) ?? Data())
        guard prefix.count == p, Array(prefix[0..<8]) == ArtefactFormat.magic else {
            throw fail("not an artefact of this program (bad magic number or too short)")
        }
        let version = readLE(prefix, at: 8, as: UInt16.self)
        guard version == ArtefactFormat.version else {
            throw fail("artefact format version \(version), this program reads version \(ArtefactFormat.version)")
        }
        guard readLE(prefix, at: 10, as: UInt16.self) == expected.rawValue else { throw fail("is not a \(expected.name) artefact") }
        let headerLength = Int(readLE(prefix, at: 12, as: UInt32.self))
        // The length comes from the file: compared with the file's size before it sizes a read.
        let fileSize = Int(clamping: (try? handle.seekToEnd()) ?? 0)
        guard headerLength <= fileSize - p - 8, (try? handle.seek(toOffset: UInt64(p))) != nil else {
            throw fail("truncated: header runs past the end of the file")
        }
        let rest = [UInt8]((try? handle.read(upToCount: headerLength + 8)) ?? Data())
        guard rest.count == headerLength + 8 else { throw fail("truncated: header runs past the end of the file") }
        let bytes = prefix + rest
        let stored = readLE(bytes, at: p + headerLength, as: UInt64.self)
        guard stored == bytes.withUnsafeBytes({ Hash.xxh3(UnsafeRawBufferPointer(rebasing: $0[0..<(p + headerLength)])) }) else {
            throw fail("header checksum mismatch: the file is corrupted")
        }
        do {
            return try JSONDecoder().decode(ArtefactHeader.self, from: Data(bytes[p..<(p + headerLength)]))
        } catch {
            throw fail("header is not valid: \(error)")
        }
    }

    public func has(_ name: String) -> Bool { header.sections.contains { $0.name == name } }

    /// Decompresses one section (frames in parallel) and checks its type and size.
    public func array<T: ArtefactElement>(_ name: String, as: T.Type = T.self, parallel: Parallel = Parallel(workers: 1)) throws -> [T] {
        guard let s = header.sections.first(where: { $0.name == name }) else {
            throw RecError(.artefact, "has no section '\(name)'", file: path, hint: "rerun \(kind.producer)")
        }
        guard s.type == T.elementType else {
            throw RecError(.artefact, "section '\(name)' holds \(s.type.rawValue), expected \(T.elementType.rawValue)", file: path,
                           hint: "rerun \(kind.producer)")
        }
        if s.count == 0 { return [] }
        // The count comes from the header (frames of few bytes can claim many elements): a
        // count beyond the machine's memory is damage, not an allocation to attempt.
        guard MemoryPlan.product(s.count, MemoryLayout<T>.stride) <= MemoryPlan.physicalMemory().bytes else {
            throw RecError(.artefact, "section '\(name)' claims \(s.count) elements, more than this machine's memory holds: the file is damaged",
                           file: path, hint: "rerun \(kind.producer)")
        }
        var starts: [(element: Int, byte: Int)] = []
        var element = 0, byte = payloadStart + s.offset
        for f in s.frames {
            starts.append((element, byte))
            element += f.elements
            byte += f.bytes
        }
        var out = [T](unsafeUninitializedCapacity: s.count) { _, n in n = s.count }
        let size = MemoryLayout<T>.stride
        try out.withUnsafeMutableBytes { dst in
            let base = SharedPointer(dst.baseAddress!.assumingMemoryBound(to: UInt8.self))
            try bytes.withUnsafeBytes { src in
                let source = UncheckedBox(src)
                try parallel.forEachChunk(count: s.frames.count, chunkSize: 1) { i, _ in
                    let f = s.frames[i]
                    let frame = UnsafeRawBufferPointer(rebasing: source.value[starts[i].byte..<(starts[i].byte + f.bytes)])
                    let target = UnsafeMutableRawBufferPointer(start: base.base + starts[i].element * size, count: f.elements * size)
                    do { try Zstd.decompress(frame, into: target) } catch let e as RecError {
                        throw RecError(.artefact, "section '\(name)': \(e.message)", file: path, hint: "rerun \(kind.producer)")
                    }
                }
            }
        }
        return out
    }

    public func meta(_ key: String) -> JSONValue? { header.meta[key] }
}
