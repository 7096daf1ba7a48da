import Foundation
import Testing
@testable import RecCore
@testable import RecData

/// The ratings and movies corpora (Corpus/), each file under both policies.
@Suite struct MovieLensCorpusTests {
    static let scale: ClosedRange<Double> = 1...5

    /// Checks a thrown error against `.fails(line:message:)`: kind `.input`, the file, the line,
    /// the problem, and for line errors the hint about `invalidLines`.
    static func check(_ e: RecError, file: String, line: Int?, message: String, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(e.kind == .input, sourceLocation: sourceLocation)
        #expect(e.file == file, sourceLocation: sourceLocation)
        #expect(e.line == line, "line \(e.line.map(String.init) ?? "nil"), expected \(line.map(String.init) ?? "nil")", sourceLocation: sourceLocation)
        #expect(e.message.contains(message), "message: \(e.message)", sourceLocation: sourceLocation)
        let prefix = line.map { "\(file):\($0): " } ?? "\(file): "
        #expect(e.description.hasPrefix(prefix), "\(e)", sourceLocation: sourceLocation)
        if line != nil, e.message.contains("unrecognised") == false, e.message.contains("header") == false {
            #expect(e.hint?.contains("invalidLines") == true, "hint: \(e.hint ?? "nil")", sourceLocation: sourceLocation)
        }
    }

    static func checkRatings(_ c: CorpusCase, _ policy: InvalidLinePolicy, _ outcome: Outcome, workers: Int = 1) {
        let parse = { try MovieLens.parseRatings(c.bytes, file: c.file, scale: scale, policy: policy, parallel: Parallel(workers: workers)) }
        switch outcome {
        case .parses(let rows, let skipped, let blank):
            do {
                let (raw, report) = try parse()
                #expect(Row.rows(raw) == rows)
                #expect(report.skipped == skipped)
                #expect(report.blankLines == blank)
                #expect(report.skippedTotal == skipped.values.reduce(0, +))
                #expect(report.examples.count == min(10, report.skippedTotal))
                for example in report.examples { #expect(example.hasPrefix(c.file + ":")) }
            } catch {
                Issue.record("\(c.name) under \(policy): threw \(error)")
            }
        case .fails(let line, let message):
            guard let e = recError(parse) else { return }
            check(e, file: c.file, line: line, message: message)
        }
    }

    @Test(arguments: RatingsCorpus.cases)
    func parseRatings_underErrorPolicy(c: CorpusCase) {
        Self.checkRatings(c, .error, c.onError)
    }

    @Test(arguments: RatingsCorpus.cases)
    func parseRatings_underSkipPolicy(c: CorpusCase) {
        Self.checkRatings(c, .skip, c.onSkip)
    }

    @Test(arguments: RatingsCorpus.cases)
    func parseRatings_withFourWorkers_isTheSame(c: CorpusCase) {
        Self.checkRatings(c, .error, c.onError, workers: 4)
        Self.checkRatings(c, .skip, c.onSkip, workers: 4)
    }

    @Test func ratingsCorpus_hasAtLeastTwentyFilesAndUniqueNames() {
        #expect(RatingsCorpus.cases.count + MoviesCorpus.cases.count >= 20)
        #expect(Set(RatingsCorpus.cases.map(\.name)).count == RatingsCorpus.cases.count)
        #expect(Set(MoviesCorpus.cases.map(\.testDescription)).count == MoviesCorpus.cases.count)
    }

    @Test func parseRatings_crlfAndLF_giveTheSameResult() throws {
        let lf = Array(RatingsCorpus.lf.utf8)
        let crlf = Array(RatingsCorpus.lf.replacingOccurrences(of: "\n", with: "\r\n").utf8)
        let a = try MovieLens.parseRatings(lf, file: "lf", scale: Self.scale, policy: .error, parallel: Parallel(workers: 1))
        let b = try MovieLens.parseRatings(crlf, file: "crlf", scale: Self.scale, policy: .error, parallel: Parallel(workers: 1))
        #expect(Row.rows(a.0) == Row.rows(b.0))
        #expect(a.1 == b.1)
    }

    @Test func parseRatings_linesRead_countsEveryLineIncludingBlankAndHeader() throws {
        let text = "userId,movieId,rating,timestamp\n1,10,4,1\n\n1,x,4,2\n2,20,3,3"
        let (_, report) = try MovieLens.parseRatings(Array(text.utf8), file: "f", scale: Self.scale, policy: .skip, parallel: Parallel(workers: 1))
        #expect(report.linesRead == 5)
        #expect(report.blankLines == 1)
        #expect(report.examples == ["f:4: movie id 'x' is not a positive whole number"])
    }

    @Test func parseRatings_blankLinesBeforeTheHeader_areCountedAsBlankLines() throws {
        let text = "\n\r\nuserId,movieId,rating,timestamp\n1,10,4,1\n"
        let (raw, report) = try MovieLens.parseRatings(Array(text.utf8), file: "f", scale: Self.scale, policy: .error, parallel: Parallel(workers: 1))
        #expect(raw.lines == [4])
        #expect(report.linesRead == 4)
        #expect(report.blankLines == 2)
        let headerOnly = try MovieLens.parseRatings(Array("\nuser,item,rating".utf8), file: "f", scale: Self.scale, policy: .error,
                                                    parallel: Parallel(workers: 1)).1
        #expect(headerOnly.linesRead == 2 && headerOnly.blankLines == 1)
    }

    @Test func parseRatings_respectsAnotherScale() throws {
        let text = "1::10::0.5\n1::11::10\n1::12::10.5\n"
        let (raw, report) = try MovieLens.parseRatings(Array(text.utf8), file: "f", scale: 0.5...10, policy: .skip, parallel: Parallel(workers: 1))
        #expect(raw.values == [0.5, 10])
        #expect(report.skipped == ["rating-out-of-scale": 1])
        #expect(report.examples.first?.contains("outside the scale 0.5–10") == true)
    }

    @Test func parseRatings_underSkip_keepsAtMostTenExamples() throws {
        let text = (1...25).map { "\($0)::10::9" }.joined(separator: "\n")
        let (raw, report) = try MovieLens.parseRatings(Array(text.utf8), file: "f", scale: Self.scale, policy: .skip, parallel: Parallel(workers: 1))
        #expect(raw.count == 0)
        #expect(report.skipped == ["rating-out-of-scale": 25])
        #expect(report.examples.count == 10)
        #expect(report.examples.first == "f:1: rating 9 is outside the scale 1–5")
    }

    // MARK: - Movies

    static func checkMovies(_ c: MoviesCase, _ policy: InvalidLinePolicy, _ outcome: MoviesOutcome) {
        let parse = { try MovieLens.parseMovies(c.bytes, file: c.file, encoding: c.encoding, policy: policy) }
        switch outcome {
        case .parses(let movies, let skipped, let blank):
            do {
                let (catalogue, report) = try parse()
                #expect(Movie.movies(catalogue) == movies)
                #expect(report.skipped == skipped)
                #expect(report.blankLines == blank)
                // Every title is valid UTF-8 whatever the input encoding (Swift strings are).
                for t in catalogue.titles { #expect(String(validating: Array(t.utf8), as: UTF8.self) == t) }
            } catch {
                Issue.record("\(c.name) under \(policy): threw \(error)")
            }
        case .fails(let line, let message):
            guard let e = recError(parse) else { return }
            check(e, file: c.file, line: line, message: message)
        }
    }

    @Test(arguments: MoviesCorpus.cases)
    func parseMovies_underErrorPolicy(c: MoviesCase) {
        Self.checkMovies(c, .error, c.onError)
    }

    @Test(arguments: MoviesCorpus.cases)
    func parseMovies_underSkipPolicy(c: MoviesCase) {
        Self.checkMovies(c, .skip, c.onSkip)
    }

    @Test func parseMovies_miserables_isTheSameUTF8FromBothEncodings() throws {
        let fromUTF8 = try MovieLens.parseMovies(MoviesCorpus.miserablesUTF8, file: "u", encoding: .auto, policy: .error).0
        let fromLatin1 = try MovieLens.parseMovies(MoviesCorpus.miserablesLatin1, file: "l", encoding: .auto, policy: .error).0
        #expect(fromUTF8 == fromLatin1)
        #expect(Array(fromLatin1.titles[0].utf8) == [0x4D, 0x69, 0x73, 0xC3, 0xA9] + Array("rables, Les (1995)".utf8))
    }

    @Test func latin1ToString_mapsEveryByteToItsCodePoint() {
        let all = (0...255).map { UInt8($0) }
        let s = MovieLens.latin1ToString(all)
        #expect(s.unicodeScalars.map(\.value) == (0...255).map { UInt32($0) })
    }
}
