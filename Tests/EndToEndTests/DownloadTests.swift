import Foundation
import Testing
import RecTestSupport

/// `scripts/movielens-data.sh` (what `make data` and `make run` call) against a server on
/// 127.0.0.1 that serves zips built here, whole or cut off, or closes the connection. No test
/// needs the internet: the base URL and the checksums are replaced through the two variables
/// the script documents as being for tests.
@Suite(.serialized) struct DownloadTests {
    /// A folder with `data/` and `shared/` as beside a checkout, the zips the server serves, and
    /// the server.
    final class Setup {
        /// Deleted after `deinit` stops the server.
        let home: TempDir
        let dir: URL
        let server: LocalServer
        /// ratings.dat and movies.dat of the zip served under `good/`.
        let ratings = Data("1::1193::5::978300760\n1::661::3::978302109\n2::1193::4::978298413\n".utf8)
        let movies = Data([UInt8]("1193::One Flew Over the Cuckoo's Nest (1975)::Drama\n661::James and the Giant Peach (1996)::Animation|Children's|Musical\n73::Mis".utf8)
                          + [0xE9] + [UInt8]("rables, Les (1995)::Drama|Musical\n".utf8))
        /// MD5 and SHA-256 of `good/ml-1m.zip`, computed with Python's hashlib.
        let md5: String, sha256: String

        init() throws {
            home = try TempDir(prefix: "rec-download")
            dir = URL(fileURLWithPath: home.path)
            for sub in ["data", "shared", "src/good/ml-1m", "src/other/ml-1m", "src/good/ml-latest-small", "served/good", "served/other"] {
                try FileManager.default.createDirectory(at: dir.appendingPathComponent(sub), withIntermediateDirectories: true)
            }
            try ratings.write(to: dir.appendingPathComponent("src/good/ml-1m/ratings.dat"))
            try movies.write(to: dir.appendingPathComponent("src/good/ml-1m/movies.dat"))
            // Another zip of the same name and layout: a file that changed, or a damaged one.
            try Data("1::1193::1::978300760\n".utf8).write(to: dir.appendingPathComponent("src/other/ml-1m/ratings.dat"))
            try movies.write(to: dir.appendingPathComponent("src/other/ml-1m/movies.dat"))
            try Data("userId,movieId,rating,timestamp\n1,1,4.0,964982703\n".utf8).write(to: dir.appendingPathComponent("src/good/ml-latest-small/ratings.csv"))
            try Data("movieId,title,genres\n1,Toy Story (1995),Adventure\n".utf8).write(to: dir.appendingPathComponent("src/good/ml-latest-small/movies.csv"))
            for (set, release) in [("good", "ml-1m"), ("other", "ml-1m"), ("good", "ml-latest-small")] {
                let zipped = try runTool("python3", ["-m", "zipfile", "-c", dir.appendingPathComponent("served/\(set)/\(release).zip").path, release + "/"],
                                         in: dir.appendingPathComponent("src/\(set)"))
                guard zipped.status == 0 else { throw RecTestError("zip: \(zipped.stderr)") }
            }
            let hashes = try runTool("python3", ["-c", "import hashlib, sys; d = open(sys.argv[1], 'rb').read(); print(hashlib.md5(d).hexdigest(), hashlib.sha256(d).hexdigest())",
                                                 dir.appendingPathComponent("served/good/ml-1m.zip").path])
            let h = hashes.stdout.split(separator: " ").map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }
            guard hashes.status == 0, h.count == 2 else { throw RecTestError("hashes: \(hashes.stderr)") }
            (md5, sha256) = (h[0], h[1])
            server = try LocalServer(root: dir.appendingPathComponent("served"))
            try setChecksums(md5: md5, sha256: "-")
        }

        deinit { server.stop() }

        var data: URL { dir.appendingPathComponent("data") }
        var sums: String { dir.appendingPathComponent("sums").path }

        /// The checksums the script uses for ml-1m ('-': none); ml-latest-small has none.
        func setChecksums(md5: String, sha256: String) throws {
            try Data("ml-1m \(md5) \(sha256)\nml-latest-small - -\n".utf8).write(to: URL(fileURLWithPath: sums))
        }

        /// Runs the script with the server's `mode` and `set` as base URL (or `baseURL`).
        func fetch(_ dataset: String = "ml-1m", mode: String = "whole", set: String = "good", baseURL: String? = nil) throws -> Run {
            try runTool("env", ["MOVIELENS_BASE_URL=\(baseURL ?? "http://127.0.0.1:\(server.port)/\(mode)/\(set)")", "MOVIELENS_CHECKSUMS=\(sums)",
                                "bash", repositoryRoot.appendingPathComponent("scripts/movielens-data.sh").path,
                                "--data", data.path, "--shared", dir.appendingPathComponent("shared").path, dataset])
        }

        func dataContents() throws -> [String] { try FileManager.default.contentsOfDirectory(atPath: data.path).sorted() }
        func read(_ relative: String) throws -> Data { try Data(contentsOf: data.appendingPathComponent(relative)) }

        /// A URL where nothing listens (port 1 is privileged and unused here).
        static let unreachable = "http://127.0.0.1:1/movielens"
    }

    @Test func fetch_goodZip_isVerifiedAndUnzippedIntoData() throws {
        let s = try Setup()
        let r = try s.fetch()
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("checksum verified: MD5 \(s.md5)"), "\(r.stdout)")
        #expect(!r.stderr.contains("#"), "no progress bar in a log")
        #expect(try s.read("ml-1m/ratings.dat") == s.ratings)
        #expect(try s.read("ml-1m/movies.dat") == s.movies)
        #expect(try s.dataContents() == ["ml-1m"], "the download folder must be gone")
        // A second run finds it there and fetches nothing (the server is not asked).
        let again = try s.fetch(baseURL: Setup.unreachable)
        #expect(again.status == 0 && again.stdout.isEmpty && again.stderr.isEmpty, "\(again.stdout)\(again.stderr)")
    }

    @Test func fetch_withPinnedSHA256_checksItToo() throws {
        let s = try Setup()
        try s.setChecksums(md5: s.md5, sha256: String(repeating: "0", count: 64))
        let bad = try s.fetch()
        #expect(bad.status == 1)
        #expect(bad.stderr.contains("SHA-256 \(s.sha256), expected \(String(repeating: "0", count: 64))"), "\(bad.stderr)")
        #expect(try s.dataContents() == [])
        try s.setChecksums(md5: s.md5, sha256: s.sha256)
        let good = try s.fetch()
        #expect(good.status == 0, "\(good.stderr)")
        #expect(good.stdout.contains("SHA-256 \(s.sha256)"))
    }

    @Test func fetch_whenChecksumDiffers_failsSayingWhatToDoAndKeepsNothing() throws {
        let s = try Setup()
        let r = try s.fetch(set: "other")
        #expect(r.status == 1)
        let url = "http://127.0.0.1:\(s.server.port)/whole/other/ml-1m.zip"
        #expect(r.stderr.contains("error: \(url) does not match its checksum: MD5 "), "\(r.stderr)")
        #expect(r.stderr.contains("expected \(s.md5)"))
        #expect(r.stderr.contains("To place the files by hand: download \(url)"))
        #expect(r.stderr.contains("ml-1m/ratings.dat and \(s.data.path)/ml-1m/movies.dat exist"))
        #expect(try s.dataContents() == [], "nothing half-written may stay in data/")
    }

    @Test(arguments: ["cut", "cut-nolength"])
    func fetch_whenDownloadIsCutOff_failsAndKeepsNothing(mode: String) throws {
        let s = try Setup()
        let r = try s.fetch(mode: mode)
        #expect(r.status == 1)
        let url = "http://127.0.0.1:\(s.server.port)/\(mode)/good/ml-1m.zip"
        // With a Content-Length curl sees the cut; without one, the checksum does.
        #expect(r.stderr.contains(mode == "cut" ? "could not download \(url): the connection was cut" : "\(url) does not match its checksum"), "\(r.stderr)")
        #expect(r.stderr.contains("To place the files by hand"))
        #expect(try s.dataContents() == [])
    }

    @Test func fetch_whenServerClosesTheConnection_failsAndKeepsNothing() throws {
        let s = try Setup()
        let r = try s.fetch(mode: "close")
        #expect(r.status == 1)
        #expect(r.stderr.contains("could not download http://127.0.0.1:\(s.server.port)/close/good/ml-1m.zip: the connection was cut"), "\(r.stderr)")
        #expect(try s.dataContents() == [])
    }

    @Test func fetch_withoutNetwork_failsNamingTheURLAndKeepsNothing() throws {
        let s = try Setup()
        let r = try s.fetch(baseURL: Setup.unreachable)
        #expect(r.status == 1)
        #expect(r.stderr.contains("could not download \(Setup.unreachable)/ml-1m.zip: no connection"), "\(r.stderr)")
        #expect(r.stderr.contains("To place the files by hand: download \(Setup.unreachable)/ml-1m.zip on a machine with internet, check that its MD5 is \(s.md5)"))
        #expect(try s.dataContents() == [])
    }

    @Test func fetch_whenSharedCopyIsBeside_linksItInsteadOfDownloading() throws {
        let s = try Setup()
        let shared = s.dir.appendingPathComponent("shared")
        for sub in ["ml-1m", "ml-100k"] { try FileManager.default.createDirectory(at: shared.appendingPathComponent(sub), withIntermediateDirectories: true) }
        try s.ratings.write(to: shared.appendingPathComponent("ml-1m/ratings_no_timestamps.dat"))
        try s.movies.write(to: shared.appendingPathComponent("ml-1m/movies.dat"))
        try Data("196\t242\t3\t881250949\n".utf8).write(to: shared.appendingPathComponent("ml-100k/u.data"))
        try Data().write(to: shared.appendingPathComponent("ml-100k/u.item"))
        let r = try s.fetch(baseURL: Setup.unreachable)
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("linked MovieLens-1M"))
        let link = try FileManager.default.destinationOfSymbolicLink(atPath: s.data.appendingPathComponent("ml-1m/ratings.dat").path)
        #expect(!link.hasPrefix("/") && link.hasSuffix("shared/ml-1m/ratings_no_timestamps.dat"), "\(link)")
        #expect(try s.read("ml-1m/ratings.dat") == s.ratings)
        #expect(try s.read("ml-1m/movies.dat") == s.movies)
        #expect(try s.read("ml-100k/u.data").count > 0, "ML-100K is linked along, as before")
    }

    @Test func fetch_whenFolderIsIncomplete_failsAndLeavesItAsItIs() throws {
        let s = try Setup()
        try FileManager.default.createDirectory(at: s.data.appendingPathComponent("ml-1m"), withIntermediateDirectories: true)
        try s.movies.write(to: s.data.appendingPathComponent("ml-1m/movies.dat"))
        let r = try s.fetch()
        #expect(r.status == 1)
        #expect(r.stderr.contains("ml-1m exists but does not hold"), "\(r.stderr)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: s.data.appendingPathComponent("ml-1m").path) == ["movies.dat"])
    }

    @Test func fetch_leftoversOfAKilledRun_areRemoved() throws {
        let s = try Setup()
        // A download folder whose process is gone, as `kill -9` mid-download leaves it.
        let dead = try runTool("sh", ["-c", "echo $$"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let stale = s.data.appendingPathComponent(".download-ml-1m.AbCdEf")
        try FileManager.default.createDirectory(at: stale, withIntermediateDirectories: true)
        try Data((dead + "\n").utf8).write(to: stale.appendingPathComponent("pid"))
        try Data("half".utf8).write(to: stale.appendingPathComponent("ml-1m.zip"))
        #expect(try s.fetch().status == 0)
        #expect(try s.dataContents() == ["ml-1m"])
    }

    @Test func fetch_latestSmallWithoutPublishedChecksum_checksTheZipItself() throws {
        let s = try Setup()
        let cut = try s.fetch("ml-latest-small", mode: "cut-nolength")
        #expect(cut.status == 1)
        #expect(cut.stderr.contains("is not a whole zip file"), "\(cut.stderr)")
        #expect(try s.dataContents() == [])
        let r = try s.fetch("ml-latest-small")
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("no published checksum to check: its zip CRCs are right; SHA-256 "), "\(r.stdout)")
        #expect(try s.read("ml-latest-small/movies.csv") == Data("movieId,title,genres\n1,Toy Story (1995),Adventure\n".utf8))
    }

    /// On a terminal (a pseudo-terminal from `script`), curl draws its progress bar; in a log
    /// (every other test) there is none.
    @Test func fetch_onATerminal_drawsAProgressBar() throws {
        let s = try Setup()
        let command = ["env", "MOVIELENS_BASE_URL=http://127.0.0.1:\(s.server.port)/whole/good", "MOVIELENS_CHECKSUMS=\(s.sums)",
                       "bash", repositoryRoot.appendingPathComponent("scripts/movielens-data.sh").path, "--data", s.data.path,
                       "--shared", s.dir.appendingPathComponent("shared").path, "ml-1m"]
        let r = try runTool("script", ["-qec", command.map { "'\($0)'" }.joined(separator: " "), "/dev/null"])
        #expect(r.status == 0, "\(r.stdout)\(r.stderr)")
        #expect(r.stdout.contains("100.0%") && r.stdout.contains("###"), "\(r.stdout)")
        let plain = try s.fetch(baseURL: Setup.unreachable) // already there: nothing to draw
        #expect(!plain.stderr.contains("%"))
        #expect(try s.read("ml-1m/ratings.dat") == s.ratings)
    }

    @Test func fetch_unknownDataset_isAUsageError() throws {
        let s = try Setup()
        let r = try s.fetch("ml-2m")
        #expect(r.status == 2)
        #expect(r.stderr.contains("unknown dataset 'ml-2m'"))
    }

    // MARK: - Zips whose entries are not plain files and folders

    /// A hostile entry: its name in the zip, its kind, and the word the error must use.
    enum BadEntry: String, CaseIterable, Sendable {
        case linkToFileOutside, linkInPlaceOfRatings, releaseFolderIsALink, dotDotPath, dotDotInsideRelease
        case backslashDotDot, absolutePath, fifo, characterDevice, blockDevice, socket

        /// (name, Unix mode with its type bits, content: a link's target), for `release`.
        func entry(_ release: String, outside: String) -> (name: String, mode: Int, content: String) {
            switch self {
            case .linkToFileOutside: ("\(release)/links.csv", 0o120777, "/etc/passwd")
            case .linkInPlaceOfRatings: ("\(release)/ratings-link", 0o120777, outside + "/escape.txt")
            case .releaseFolderIsALink: (release, 0o120777, outside)
            case .dotDotPath: ("../escape.txt", 0o100644, "x")
            case .dotDotInsideRelease: ("\(release)/../../escape.txt", 0o100644, "x")
            case .backslashDotDot: ("\(release)\\..\\..\\escape.txt", 0o100644, "x")
            case .absolutePath: (outside + "/escape.txt", 0o100644, "x")
            case .fifo: ("\(release)/fifo", 0o010644, "")
            case .characterDevice: ("\(release)/tty", 0o020644, "")
            case .blockDevice: ("\(release)/disk", 0o060644, "")
            case .socket: ("\(release)/socket", 0o140644, "")
            }
        }

        var word: String {
            switch self {
            case .linkToFileOutside, .linkInPlaceOfRatings, .releaseFolderIsALink: "a symbolic link"
            case .dotDotPath, .dotDotInsideRelease, .backslashDotDot: "a path with a '..' part"
            case .absolutePath: "an absolute path"
            case .fifo: "a FIFO"
            case .characterDevice, .blockDevice: "a device"
            case .socket: "a socket"
            }
        }
    }

    /// Writes a zip of `release` holding its two files, with `bad` placed first, among them or
    /// last (`position` 0, 1, 2), as Python's zipfile writes it; the bad entry's Unix mode (type
    /// bits included) goes in the high half of its external attributes, as Info-ZIP does.
    static func hostileZip(_ path: String, release: String, files: [(String, Data)], bad: (name: String, mode: Int, content: String), position: Int) throws {
        var entries: [[String: Any]] = files.map { ["name": "\(release)/\($0.0)", "mode": 0o100644, "content": String(decoding: $0.1, as: UTF8.self)] }
        entries.insert(["name": release + "/", "mode": 0o40755, "content": ""], at: 0)
        entries.insert(["name": bad.name, "mode": bad.mode, "content": bad.content], at: [0, 2, entries.count][position])
        let spec = String(decoding: try JSONSerialization.data(withJSONObject: entries), as: UTF8.self)
        let r = try runTool("python3", ["-c", """
            import json, sys, zipfile
            with zipfile.ZipFile(sys.argv[1], "w") as z:
                for e in json.loads(sys.argv[2]):
                    info = zipfile.ZipInfo(e["name"], (2024, 1, 1, 0, 0, 0))
                    info.create_system = 3
                    info.external_attr = e["mode"] << 16
                    z.writestr(info, e["content"])
            """, path, spec])
        guard r.status == 0 else { throw RecTestError("zip: \(r.stderr)") }
    }

    /// Every entry under `dir` (links not followed): its kind, a link's target, a file's bytes.
    static func listing(_ dir: URL) -> [String: String] {
        var out: [String: String] = [:]
        func walk(_ relative: String) {
            let path = relative.isEmpty ? dir.path : dir.appendingPathComponent(relative).path
            guard let type = (try? FileManager.default.attributesOfItem(atPath: path))?[.type] as? FileAttributeType else { return }
            switch type {
            case .typeDirectory:
                out[relative] = "folder"
                for name in (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? [] {
                    walk(relative.isEmpty ? name : relative + "/" + name)
                }
            case .typeSymbolicLink: out[relative] = "link to " + ((try? FileManager.default.destinationOfSymbolicLink(atPath: path)) ?? "?")
            case .typeRegular: out[relative] = "file " + ((try? Data(contentsOf: URL(fileURLWithPath: path)))?.base64EncodedString() ?? "?")
            default: out[relative] = "\(type)"
            }
        }
        walk("")
        return out
    }

    /// Each kind of bad entry, in three places of the zip, for a release with a published
    /// checksum (here the hostile zip's own: the checksum is what an attacker who controls the
    /// download controls too) and for one without: the run fails naming the entry, installs
    /// nothing, writes nothing outside, and leaves data/ as it was (other releases, a link, a
    /// file), or absent when it was absent.
    @Test(arguments: BadEntry.allCases)
    func fetch_zipWithAnEntryThatIsNotAPlainFileOrFolder_isRefusedAndDataIsUnchanged(bad: BadEntry) throws {
        let s = try Setup()
        let outside = s.dir.appendingPathComponent("outside")
        try FileManager.default.createDirectory(at: outside, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(at: s.data.appendingPathComponent("ml-100k"), withIntermediateDirectories: true)
        try Data("196\t242\t3\t881250949\n".utf8).write(to: s.data.appendingPathComponent("ml-100k/u.data"))
        try Data("notes\n".utf8).write(to: s.data.appendingPathComponent("README.local"))
        try FileManager.default.createSymbolicLink(atPath: s.data.appendingPathComponent("ml-20m").path, withDestinationPath: "../shared/ml-20m")
        let small = [("ratings.csv", Data("userId,movieId,rating,timestamp\n1,1,4.0,964982703\n".utf8)),
                     ("movies.csv", Data("movieId,title,genres\n1,Toy Story (1995),Adventure\n".utf8))]
        let cases: [(dataset: String, files: [(String, Data)])] = [("ml-1m", [("ratings.dat", s.ratings), ("movies.dat", s.movies)]), ("ml-latest-small", small)]
        for (dataset, files) in cases {
            for position in 0..<3 {
                let set = "hostile-\(bad.rawValue)-\(position)"
                let served = s.dir.appendingPathComponent("served/\(set)")
                try FileManager.default.createDirectory(at: served, withIntermediateDirectories: true)
                let zip = served.appendingPathComponent("\(dataset).zip").path
                let entry = bad.entry(dataset, outside: outside.path)
                try Self.hostileZip(zip, release: dataset, files: files, bad: entry, position: position)
                let md5 = try runTool("md5sum", [zip]).stdout.split(separator: " ").first.map(String.init) ?? "-"
                try s.setChecksums(md5: md5, sha256: "-")
                // Once into the data/ set up above, once into a data folder that does not exist yet.
                for fresh in [false, true] {
                    let data = fresh ? s.dir.appendingPathComponent("fresh-data") : s.data
                    let before = Self.listing(data)
                    let r = try runTool("env", ["MOVIELENS_BASE_URL=http://127.0.0.1:\(s.server.port)/whole/\(set)", "MOVIELENS_CHECKSUMS=\(s.sums)",
                                                "bash", repositoryRoot.appendingPathComponent("scripts/movielens-data.sh").path,
                                                "--data", data.path, "--shared", s.dir.appendingPathComponent("shared").path, dataset])
                    let what = "\(bad) at \(position) in \(dataset)\(fresh ? " into a new folder" : "")"
                    #expect(r.status == 1, "\(what): \(r.stdout)\(r.stderr)")
                    #expect(r.stderr.contains("holds '\(entry.name)', \(bad.word)"), "\(what): \(r.stderr)")
                    #expect(r.stderr.contains("nothing was kept"), "\(what)")
                    #expect(Self.listing(data) == before, "\(what): data/ changed")
                    #expect(fresh ? !FileManager.default.fileExists(atPath: data.path) : !before.isEmpty)
                    #expect(try FileManager.default.contentsOfDirectory(atPath: outside.path).isEmpty, "\(what): wrote outside")
                    #expect(!FileManager.default.fileExists(atPath: s.dir.appendingPathComponent("escape.txt").path), "\(what)")
                }
            }
        }
    }

    /// `make data` in a fresh checkout (no data, no shared folder beside it) downloads ML-1M:
    /// what `make run` does first.
    @Test func makeData_onAFreshCheckout_downloadsML1M() throws {
        let s = try Setup()
        let checkout = s.dir.appendingPathComponent("checkout")
        try FileManager.default.createDirectory(at: checkout, withIntermediateDirectories: true)
        let r = try runTool("env", ["MOVIELENS_BASE_URL=http://127.0.0.1:\(s.server.port)/whole/good", "MOVIELENS_CHECKSUMS=\(s.sums)",
                                    "make", "--no-print-directory", "-f", repositoryRoot.appendingPathComponent("Makefile").path, "data"], in: checkout)
        #expect(r.status == 0, "\(r.stdout)\(r.stderr)")
        #expect(try Data(contentsOf: checkout.appendingPathComponent("data/ml-1m/ratings.dat")) == s.ratings)
        #expect(try FileManager.default.contentsOfDirectory(atPath: checkout.appendingPathComponent("data").path) == ["ml-1m"])
    }
}

struct RecTestError: Error, CustomStringConvertible {
    let description: String
    init(_ d: String) { description = d }
}

/// `Tests/Fixtures/http_server.py` on a free port of 127.0.0.1, serving `root`, until `stop()`.
///
/// Started by a shell in the background rather than as a `Process` of this test: Foundation's
/// child monitor on Linux blocks in `wait4` on a long-lived child of its own when another child
/// exits, so every later `waitUntilExit` would hang (seen with swift-corelibs-foundation of
/// Swift 6.3).
final class LocalServer: Sendable {
    let pid: pid_t
    let port: Int

    init(root: URL) throws {
        let portFile = root.deletingLastPathComponent().appendingPathComponent("server-port").path
        let script = repositoryRoot.appendingPathComponent("Tests/Fixtures/http_server.py").path
        let started = try runTool("sh", ["-c", "python3 \"$1\" \"$2\" > \"$3\" 2>/dev/null < /dev/null & echo $!", "sh", script, root.path, portFile])
        guard started.status == 0, let pid = pid_t(started.stdout.trimmingCharacters(in: .whitespacesAndNewlines)) else {
            throw RecTestError("the test server did not start: \(started.stderr)")
        }
        self.pid = pid
        // The server writes its port once it listens.
        var port: Int?
        for _ in 0..<1000 where port == nil {
            if let text = try? String(contentsOfFile: portFile, encoding: .utf8), text.hasSuffix("\n") { port = Int(text.dropLast()) }
            else { usleep(10_000) }
        }
        guard let port else {
            kill(pid, SIGKILL)
            throw RecTestError("the test server did not write its port")
        }
        self.port = port
    }

    /// SIGKILL: the server may have inherited a signal mask that blocks SIGTERM.
    func stop() { kill(pid, SIGKILL) }
}
