import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif
@testable import RecCore

/// Paths as bytes, and values that used to trap or slip through, on the built executables.
@Suite struct PathsAndLimitsTests {
    // MARK: - Raw bytes in and out

    /// Runs `argv` (bytes, argv[0] the program) in `cwd` (bytes) with posix_spawn, so that
    /// arguments and the working folder reach the program exactly, invalid UTF-8 included.
    static func spawn(_ argv: [[UInt8]], cwd: [UInt8]) throws -> (status: Int32, stderr: String) {
        var fds: [Int32] = [0, 0]
        guard pipe(&fds) == 0 else { throw RecError(.runtime, "pipe") }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, fds[1], 2)
        posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
        posix_spawn_file_actions_addclose(&actions, fds[0])
        // The shell changes to the folder (as bytes) and runs the program with the arguments.
        let wrapped = [Array("/bin/sh".utf8), Array("-c".utf8), Array("cd \"$1\" && shift && exec \"$@\"".utf8), Array("sh".utf8), cwd] + argv
        let cArgs: [UnsafeMutablePointer<CChar>?] = wrapped.map { bytes in
            let p = UnsafeMutablePointer<CChar>.allocate(capacity: bytes.count + 1)
            for (i, b) in bytes.enumerated() { p[i] = CChar(bitPattern: b) }
            p[bytes.count] = 0
            return p
        } + [nil]
        defer { for p in cArgs { p?.deallocate() } }
        var pid: pid_t = 0
        let rc = posix_spawn(&pid, cArgs[0]!, &actions, nil, cArgs, environ)
        close(fds[1])
        guard rc == 0 else { close(fds[0]); throw RecError(.runtime, "posix_spawn: \(rc)") }
        var err: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = read(fds[0], &buffer, buffer.count)
            if n <= 0 { break }
            err += buffer[0..<n]
        }
        close(fds[0])
        var status: Int32 = 0
        waitpid(pid, &status, 0)
        let exited = (status & 0x7f) == 0
        return (exited ? (status >> 8) & 0xff : 128 + (status & 0x7f), String(decoding: err, as: UTF8.self))
    }

    /// Every name under `root`, as bytes, recursively (readdir: nothing repaired).
    static func names(under root: [UInt8]) -> [[UInt8]] {
        guard let d = opendir(root.map { CChar(bitPattern: $0) } + [0]) else { return [] }
        defer { closedir(d) }
        var out: [[UInt8]] = []
        while let e = readdir(d) {
            let name = withUnsafeBytes(of: e.pointee.d_name) { raw in Array(raw.prefix(while: { $0 != 0 })) }
            if name == [46] || name == [46, 46] { continue }
            out.append(name)
            if e.pointee.d_type == UInt8(DT_DIR) { out += names(under: root + [47] + name).map { name + [47] + $0 } }
        }
        return out
    }

    static func contains(_ haystack: [UInt8], _ needle: [UInt8]) -> Bool {
        haystack.count >= needle.count && (0...(haystack.count - needle.count)).contains { Array(haystack[$0..<($0 + needle.count)]) == needle }
    }

    /// A folder name of random parts: ASCII, valid non-ASCII (`é`, `千`), and, when `invalid`,
    /// at least one sequence that is not UTF-8 (a lone Latin-1 byte, a truncated sequence, an
    /// overlong form, an encoded surrogate, a stray continuation byte).
    static func folderName(_ rng: inout SplitMix64, invalid: Bool) -> [UInt8] {
        let valid: [[UInt8]] = [Array("caf".utf8), Array("é".utf8), Array("千".utf8), Array("x y".utf8), Array("-_.".utf8), Array("Ünï".utf8)]
        let bad: [[UInt8]] = [[0xE9], [0xFF], [0xC3], [0xE5, 0x8D], [0xC0, 0xAF], [0xED, 0xA0, 0x80], [0x80], [0xF8, 0x88, 0x80, 0x80, 0x80]]
        var name: [UInt8] = Array("d".utf8)
        let parts = 1 + rng.below(4)
        let badAt = invalid ? rng.below(parts) : -1
        for i in 0..<parts {
            name += valid[rng.below(valid.count)]
            if i == badAt { name += bad[rng.below(bad.count)] }
        }
        return name
    }

    /// Settings in folders with random names, valid UTF-8 or not, given to rec-pipeline both as
    /// `--config FOLDER/pipeline.json` and as the working folder: a valid name runs and writes
    /// its exports inside that folder; an invalid one exits with 2 naming the bytes escaped,
    /// and writes nothing. No name with U+FFFD ever appears.
    @Test func foldersNotInUTF8_areRefusedWithExit2_andValidNonASCIIFoldersRun() throws {
        let f = try Fixture(.ml1mWithTimestamps)
        let root = Array(f.dir.path.utf8)
        let exe = Array(productsDirectory.appendingPathComponent("rec-pipeline").path.utf8)
        let files = ["pipeline.json", f.ratingsName, f.moviesName]
        var rng = SplitMix64(seed: UInt64(Date().timeIntervalSince1970) & 0xffff)
        var ran = 0
        for round in 0..<8 {
            let invalid = round % 4 != 0
            let name = Self.folderName(&rng, invalid: invalid)
            let dir = root + [47] + name
            guard mkdir(dir.map { CChar(bitPattern: $0) } + [0], 0o755) == 0 else { continue }
            for file in files {
                let data = try Data(contentsOf: f.dir.appendingPathComponent(file))
                let fd = open((dir + [47] + Array(file.utf8)).map { CChar(bitPattern: $0) } + [0], O_WRONLY | O_CREAT | O_TRUNC, 0o644)
                #expect(fd >= 0)
                _ = data.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
                close(fd)
            }
            let byPath = round % 2 == 0
            let argv: [[UInt8]] = byPath ? [exe, Array("--config".utf8), dir + Array("/pipeline.json".utf8), Array("--quiet".utf8)]
                                         : [exe, Array("--quiet".utf8)]
            let r = try Self.spawn(argv, cwd: byPath ? root : dir)
            let shown = OSPaths.escaped(name)
            if invalid {
                #expect(r.status == 2, "\(shown): \(r.stderr)")
                #expect(r.stderr.contains(shown) && r.stderr.contains("not valid UTF-8") && r.stderr.contains("rename the folder"), "\(r.stderr)")
                #expect(Self.names(under: dir).sorted { $0.lexicographicallyPrecedes($1) } == files.map { Array($0.utf8) }.sorted { $0.lexicographicallyPrecedes($1) },
                        "\(shown): something was written")
            } else {
                ran += 1
                #expect(r.status == 0, "\(shown): \(r.stderr)")
                let csv = dir + Array("/output/recommendations.csv".utf8)
                var st = stat()
                #expect(stat(csv.map { CChar(bitPattern: $0) } + [0], &st) == 0 && st.st_size > 0, "\(shown): no recommendations.csv inside the folder")
            }
            let replaced = Self.names(under: root).filter { Self.contains($0, [0xEF, 0xBF, 0xBD]) }
            #expect(replaced.isEmpty, "a folder with U+FFFD was made: \(replaced.map(OSPaths.escaped))")
        }
        #expect(ran >= 2)
    }

    /// A folder setting that leads, through a symbolic link, to a folder whose real path is not
    /// UTF-8: the settings are refused (exit 2), nothing is written.
    @Test func folderBehindALinkToANonUTF8Name_isRefused() throws {
        let f = try Fixture(.ml1mWithTimestamps, extraConfig: ["outputDir": "out/published", "artefactDir": "out/art"])
        let target = Array(f.dir.path.utf8) + Array("/caf".utf8) + [0xE9]
        #expect(mkdir(target.map { CChar(bitPattern: $0) } + [0], 0o755) == 0)
        #expect(symlink(target.map { CChar(bitPattern: $0) } + [0], f.path("out")) == 0)
        let r = try run("rec-pipeline", ["--config", f.configPath])
        #expect(r.status == 2, "\(r.stderr)")
        #expect(r.stderr.contains("caf\\xE9") && r.stderr.contains("not valid UTF-8"), "\(r.stderr)")
        #expect(Self.names(under: target).isEmpty)
    }

    // MARK: - Command-line values and settings numbers

    /// `--workers` beyond the settings' range is refused by every executable that takes it,
    /// with the same words, before any work.
    @Test func workersOption_beyondTheSettingsRange_isExit2InEveryExecutable() throws {
        let f = try Fixture(.ml1mWithTimestamps)
        let executables = ["rec-pipeline", "rec-ingest", "rec-split", "rec-build-matrix", "rec-train", "rec-score", "rec-export", "rec-bench"]
        for exe in executables {
            for n in [99_999, 1_025, -1] {
                let r = try run(exe, ["--config", f.configPath, "--workers=\(n)"])
                #expect(r.status == 2, "\(exe) --workers \(n): \(r.status) \(r.stderr)")
                #expect(r.stderr.contains("--workers must be 0 (all cores) to 1024"), "\(exe): \(r.stderr)")
            }
        }
        let out = f.path("synth")
        let synth = try run("rec-synth", ["--size", "1M", "--output", out, "--workers", "99999"])
        #expect(synth.status == 2 && synth.stderr.contains("--workers must be 0 (all cores) to 1024"), "\(synth.stderr)")
        #expect(!FileManager.default.fileExists(atPath: out))
        #expect(!FileManager.default.fileExists(atPath: f.path("output")), "a refused run wrote outputs")
    }

    /// A rating scale beyond 32-bit floats is a settings error naming the key (it used to
    /// escape as a raw EncodingError with exit 1).
    @Test func ratingScaleBeyondFloats_isExit2NamingTheKey() throws {
        let f = try Fixture(.ml1mWithTimestamps)
        try f.setConfig { c in c["input"] = ["ratings": f.ratingsName, "movies": f.moviesName, "ratingScale": [-1e308, 1e308]] }
        let r = try run("rec-pipeline", ["--config", f.configPath])
        #expect(r.status == 2, "\(r.stderr)")
        #expect(r.stderr.contains("'input.ratingScale'") && !r.stderr.contains("EncodingError"), "\(r.stderr)")
        #expect(!FileManager.default.fileExists(atPath: f.path("output")))
    }

    // MARK: - sbatch filename patterns

    /// What sbatch makes of a filename pattern: `%%` is `%`, `%A` the array's job id, `%a` the
    /// task, `%j` the job id, `%x` the job name, other letters something else again.
    static func expand(_ pattern: String, job: String) -> String {
        var out = "", it = Array(pattern)[...]
        while let c = it.popFirst() {
            guard c == "%" else { out.append(c); continue }
            switch it.popFirst() {
            case "%": out += "%"
            case "A", "j": out += "777"
            case "a": out += "3"
            case "x": out += job
            case let other?: out += "<\(other)>"
            case nil: out += "%"
            }
        }
        return out
    }

    /// Artefact folders with `%` and replacement letters in their names: every `--output` of
    /// the dry run's sbatch commands expands to a log inside `<artefactDir>/slurm-logs`.
    @Test func slurmDryRun_logPathsWithPercent_expandToTheArtefactFolder() throws {
        var rng = SplitMix64(seed: 29)
        for _ in 0..<4 {
            let pieces = ["%", "%x", "%j", "%%", "%A", "%a", "%5j", "a", "b-", "_", "%u"]
            let name = "art" + (0..<(2 + rng.below(4))).map { _ in pieces[rng.below(pieces.count)] }.joined()
            let f = try Fixture(.ml1mWithTimestamps, extraConfig: ["artefactDir": "out/" + name])
            let r = try run("rec-pipeline", ["--config", f.configPath, "--engine", "slurm", "--dry-run", "--shards", "2"])
            #expect(r.status == 0, "\(name): \(r.stderr)")
            let commands = r.stdout.split(separator: "\n").filter { $0.hasPrefix("sbatch ") }
            #expect(commands.count >= 6, "\(r.stdout)")
            let folder = f.dir.resolvingSymlinksInPath().path + "/out/" + name + "/slurm-logs/"
            for command in commands {
                let words = try runTool("python3", ["-c", "import shlex,sys; print('\\n'.join(shlex.split(sys.argv[1])))", String(command)]).stdout
                    .split(separator: "\n").map(String.init)
                let job = try #require(words.first { $0.hasPrefix("--job-name=") }).dropFirst("--job-name=".count)
                let output = try #require(words.first { $0.hasPrefix("--output=") }).dropFirst("--output=".count)
                let expanded = Self.expand(String(output), job: String(job))
                #expect(expanded.hasPrefix(folder) && !expanded.dropFirst(folder.count).contains("/"), "\(name): \(output) → \(expanded)")
            }
        }
    }

    /// A backslash makes sbatch ignore every replacement symbol: refused before anything.
    @Test func slurm_artefactFolderWithBackslash_isExit2() throws {
        let f = try Fixture(.ml1mWithTimestamps, extraConfig: ["artefactDir": "out/a\\b"])
        let r = try run("rec-pipeline", ["--config", f.configPath, "--engine", "slurm", "--dry-run"])
        #expect(r.status == 2 && r.stderr.contains("'artefactDir'") && r.stderr.contains("backslash"), "\(r.stderr)")
    }

    // MARK: - Advice that fits the cause

    /// Every user has one rating: the split holds out nothing, and the error says that no
    /// testRatio can help instead of telling to raise it.
    @Test func split_whenEveryUserHasOneRating_theHintDoesNotSayRaiseTestRatio() throws {
        let f = try Fixture(.ml1mWithTimestamps)
        let lines = (1...40).map { "\($0)::\(1 + $0 % 45)::\(1 + $0 % 5)::\(978_300_000 + $0)" }.joined(separator: "\n") + "\n"
        try Data(lines.utf8).write(to: URL(fileURLWithPath: f.path(f.ratingsName)))
        let r = try run("rec-pipeline", ["--config", f.configPath])
        #expect(r.status == 2, "\(r.stderr)")
        #expect(r.stderr.contains("'split.testRatio'") && r.stderr.contains("cannot help") && !r.stderr.contains("raise split.testRatio to"), "\(r.stderr)")
    }

    /// Score blocks for 1,024 workers pass a small memory limit: the hint names the workers,
    /// not score.k.
    @Test func memory_whenTheWorkersAreTheCause_theHintNamesWorkers() throws {
        let f = try Fixture(.ml1mWithTimestamps, extraConfig: ["memoryLimitGB": 0.01])
        let r = try run("rec-pipeline", ["--config", f.configPath, "--workers", "1024"])
        #expect(r.status == 2, "\(r.stderr)")
        #expect(r.stderr.contains("rec-score would need about") && r.stderr.contains("change workers (or --workers)"), "\(r.stderr)")
        #expect(!r.stderr.contains("change score.k"), "\(r.stderr)")
        #expect(!FileManager.default.fileExists(atPath: f.path("output/recommendations.csv")))
    }
}
