import Foundation
@testable import RecCore
@testable import RecStore

/// Rewrites the header of the artefact at `path` with `edit` applied, repairing the header's
/// length and checksum so that only the edited counts are wrong: how the artefact tests craft
/// a file the reader must refuse for what it says, not for a broken checksum.
func rewriteHeader(of path: String, _ edit: (inout ArtefactHeader) -> Void) throws {
        let bytes = try AtomicFile.read(path)
        let p = ArtefactFormat.prefixBytes
        let length = Int(bytes[12]) | Int(bytes[13]) << 8 | Int(bytes[14]) << 16 | Int(bytes[15]) << 24
        var header = try JSONDecoder().decode(ArtefactHeader.self, from: Data(bytes[p..<(p + length)]))
        edit(&header)
        let json = [UInt8](try JSON.encode(header))
        var out = Array(bytes[0..<12])
        withUnsafeBytes(of: UInt32(json.count).littleEndian) { out += $0 }
        out += json
        withUnsafeBytes(of: Hash.xxh3(out).littleEndian) { out += $0 }
        out += bytes[(p + length + 8)...]
        try AtomicFile.write(out, to: path)
}
