import RecCore
import RecStore
/// The movies: ids, UTF-8 titles and genres.
public struct Catalogue: Sendable, Equatable {
    /// Ascending MovieLens ids.
    public var movieIds: [Int32]
    public var titles: [String]
    /// Genres of each movie, in the file's order.
    public var genres: [[String]]

    public init(movieIds: [Int32], titles: [String], genres: [[String]]) {
        self.movieIds = movieIds
        self.titles = titles
        self.genres = genres
    }

    public var count: Int { movieIds.count }

    /// Position of a movie id, by binary search.
    public func index(of movieId: Int32) -> Int? { movieIds.sortedIndex(of: movieId) }

    public func write(to path: String, meta: [String: JSONValue], parallel: Parallel) throws {
        var b = ArtefactBuilder(kind: .catalogue)
        b.meta = meta
        b.meta["movies"] = .int(count)
        b.add("movieIds", movieIds)
        let (titleBytes, titleEnds) = Catalogue.pack(titles)
        b.add("titles", titleBytes)
        b.add("titleEnds", titleEnds)
        let (genreBytes, genreEnds) = Catalogue.pack(genres.map { $0.joined(separator: "|") })
        b.add("genres", genreBytes)
        b.add("genreEnds", genreEnds)
        try b.write(to: path, parallel: parallel)
    }

    public static func read(_ path: String, parallel: Parallel) throws -> Catalogue {
        let a = try Artefact.read(path, expecting: .catalogue)
        let ids = try a.array("movieIds", as: Int32.self)
        let titles = try unpack(a.array("titles"), a.array("titleEnds"), a)
        let genres = try unpack(a.array("genres"), a.array("genreEnds"), a)
        guard titles.count == ids.count, genres.count == ids.count, zip(ids, ids.dropFirst()).allSatisfy({ $0 < $1 }) else {
            throw RecError(.artefact, "catalogue columns disagree", file: path, hint: "rerun rec-ingest")
        }
        return Catalogue(movieIds: ids, titles: titles, genres: genres.map { $0.isEmpty ? [] : $0.split(separator: "|", omittingEmptySubsequences: false).map(String.init) })
    }

    private static func pack(_ strings: [String]) -> ([UInt8], [Int64]) {
        var bytes: [UInt8] = []
        var ends: [Int64] = []
        for s in strings {
            bytes.append(contentsOf: s.utf8)
            ends.append(Int64(bytes.count))
        }
        return (bytes, ends)
    }

    private static func unpack(_ bytes: [UInt8], _ ends: [Int64], _ a: Artefact) throws -> [String] {
        var out: [String] = []
        out.reserveCapacity(ends.count)
        var start = 0
        for e in ends {
            let end = Int(e)
            guard end >= start, end <= bytes.count else {
                throw RecError(.artefact, "string table is malformed", file: a.path, hint: "rerun rec-ingest")
            }
            guard let s = String(validating: bytes[start..<end], as: UTF8.self) else {
                throw RecError(.artefact, "string table is not UTF-8", file: a.path, hint: "rerun rec-ingest")
            }
            out.append(s)
            start = end
        }
        return out
    }
}
