import ArgumentParser
import Foundation
import RecCore
import RecStore
import RecPipeline
import RecSynth

@main
struct SynthCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rec-synth",
        abstract: "Write a synthetic MovieLens-shaped data set (ratings and movies files) for benchmarks and tests.",
        discussion: """
            The statistics follow MovieLens-25M: Zipf-like popularity with a long tail (half the rated movies \
            have fewer than 10 ratings), every user with at least 20 ratings and a few with more than 5,000, \
            half-star ratings, timestamps between 1995 and 2019, and clusters of movies that users prefer, so \
            that a ranking model has something to find. The same settings always give the same bytes.

            --size 1M, 5M or 25M sets users, movies and ratings to those shapes; the other options override it.
            Ratings with half stars need "ratingScale": [0.5, 5] in the pipeline settings.
            """)

    @Option(help: "Folder to write into (created if needed).")
    public var output: String

    @Option(help: "A preset shape: 1M (6,040 users, 3,706 rated movies), 5M (32,500 × 20,000) or 25M (162,541 × 59,047 of 62,423).")
    var size: String?

    @Option(help: "Users.") var users: Int?
    @Option(help: "Movies in the movies file.") var movies: Int?
    @Option(help: "Movies with at least one rating (at most --movies).") var ratedMovies: Int?
    @Option(help: "Ratings.") var ratings: Int?
    @Option(help: "Seed.") var seed: UInt64 = 1

    @Option(help: "Ratings file format: csv (ML-25M ratings.csv) or dat (ML-1M ratings.dat with '::').")
    var format: String = "csv"

    @Option(help: "Movies file format: csv (ML-25M movies.csv) or dat (ML-1M movies.dat). Default: as --format.")
    var moviesFormat: String?

    @Option(help: "Dispatch workers (0 = all cores). The files do not depend on it.")
    var workers: Int = 0

    @Flag(help: "Print nothing but errors.")
    var quiet = false

    public func run() throws {
        do {
            // Paths arrive as bytes: stop before writing when they are not UTF-8.
            try OSPaths.checkProcess()
            var s: SynthSettings
            if let size {
                guard let preset = SynthSettings.preset(size, seed: seed) else {
                    throw RecError(.config, "unknown size '\(size)': 1M, 5M or 25M")
                }
                s = preset
            } else {
                guard let users, let movies, let ratings else {
                    throw RecError(.config, "give --size, or --users, --movies and --ratings")
                }
                s = SynthSettings(users: users, movies: movies, ratedMovies: ratedMovies ?? movies, ratings: ratings, seed: seed)
            }
            if let users { s.users = users }
            if let movies { s.movies = movies; if ratedMovies == nil { s.ratedMovies = min(s.ratedMovies, movies) } }
            if let ratedMovies { s.ratedMovies = ratedMovies }
            if let ratings { s.ratings = ratings }
            guard let ratingsFormat = SyntheticMovieLens.Format(rawValue: format),
                  let moviesFormat = SyntheticMovieLens.Format(rawValue: moviesFormat ?? format) else {
                throw RecError(.config, "--format and --movies-format must be csv or dat")
            }
            try PipelineConfig.checkWorkers(workers, name: "--workers")
            let clock = ContinuousClock.now
            let data = try SyntheticMovieLens(s)
            try FileManager.default.createDirectory(atPath: output, withIntermediateDirectories: true)
            let ratingsPath = output + "/ratings." + ratingsFormat.rawValue
            let moviesPath = output + "/movies." + moviesFormat.rawValue
            try AtomicFile.write(data.moviesFile(moviesFormat), to: moviesPath)
            let summary = try AtomicFile.write(to: ratingsPath) { sink in
                try data.writeRatings(ratingsFormat, parallel: Parallel.resolve(workers), sink: sink)
            }
            let seconds = clock.duration(to: .now)
            if !quiet {
                print("wrote \(VisibleText.escape(ratingsPath)) and \(VisibleText.escape(moviesPath)) in \(seconds.formatted(.units(allowed: [.seconds], fractionalPart: .show(length: 1))))")
                print(summary.text)
            }
        } catch let e as RecError {
            FileHandle.standardError.write(Data("rec-synth: \(VisibleText.escape(e.description))\n".utf8))
            throw ExitCode(e.kind == .config ? 2 : 1)
        }
    }
}
