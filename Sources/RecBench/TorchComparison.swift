import Foundation
import RecCore
import RecStore
import RecData
import RecModels

/// The PyTorch half of `rec-bench`'s comparison: runs `scripts/bench_torch.py` (the seed's
/// model rewritten in PyTorch, CPU) on the same train and test split with the same settings,
/// and reads back its epoch times and test RMSE.
public struct TorchComparison: Sendable {
    /// The Python that runs the script (it must import torch).
    public var python: String
    public var script: String

    public init(python: String, script: String) {
        self.python = python
        self.script = script
    }

    public struct Result: Sendable {
        public let version: String
        let threads: Int
        /// Each epoch: its steps and the train RMSE pass after them.
        let epochSeconds: [Double]
        /// Each epoch's steps alone.
        let stepSeconds: [Double]
        let testRMSE: Double
        public var seconds: Double { epochSeconds.reduce(0, +) }
    }

    /// Why the comparison cannot run here (no script, no Python, no torch), or nil.
    func unavailable() -> String? {
        guard FileManager.default.fileExists(atPath: script) else { return "\(script) not found" }
        guard let status = try? TorchComparison.execute(python, ["-c", "import torch"]).status, status == 0 else {
            return "torch is not importable by \(python)"
        }
        return nil
    }

    /// Trains the PyTorch model on `train` for the settings' epochs with `threads` threads.
    public func run(train: CSRMatrix, test: CSRMatrix, settings s: AutoencoderSettings, scale: [Double], threads: Int,
                    scratch: String) throws -> Result {
        try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
        try write(train, name: "train", to: scratch)
        try write(test, name: "test", to: scratch)
        let arguments = [
            script, "--data", scratch, "--users", "\(train.rows)", "--items", "\(train.cols)",
            "--hidden", s.hidden.map(String.init).joined(separator: ","), "--activation", s.activation.rawValue,
            "--optimizer", s.optimizer.rawValue, "--lr", "\(s.learningRate)", "--weight-decay", "\(s.weightDecay)",
            "--batch", "\(s.batchSize)", "--epochs", "\(s.epochs)", "--seed", "\(s.seed)", "--threads", "\(threads)",
            "--scale", "\(scale[0]),\(scale[1])",
        ]
        let (status, output, errors) = try TorchComparison.execute(python, arguments)
        guard status == 0 else {
            throw RecError(.runtime, "\(script) failed (exit \(status)): \(errors.suffix(2000))")
        }
        guard case .object(let o)? = try? JSONDecoder().decode(JSONValue.self, from: Data(output.utf8)),
              case .array(let epochs)? = o["epochs"], let test = o["testRMSE"]?.doubleValue else {
            throw RecError(.runtime, "\(script) printed no result: \(output.prefix(500))")
        }
        func field(_ name: String) -> [Double] {
            epochs.compactMap { e -> Double? in
                guard case .object(let fields) = e else { return nil }
                return fields[name]?.doubleValue
            }
        }
        return Result(version: o["torch"]?.stringValue ?? "?", threads: o["threads"]?.intValue ?? threads, epochSeconds: field("seconds"),
                      stepSeconds: field("stepSeconds"), testRMSE: test)
    }

    /// `NAME.users`, `NAME.items` (int32) and `NAME.ratings` (float32), one value per entry.
    func write(_ m: CSRMatrix, name: String, to folder: String) throws {
        var users: [Int32] = []
        users.reserveCapacity(m.nonZeros)
        for r in 0..<m.rows { users.append(contentsOf: repeatElement(Int32(r), count: m.row(r).count)) }
        func bytes<T>(_ a: [T]) -> [UInt8] { a.withUnsafeBytes { Array($0) } }
        try AtomicFile.write(bytes(users.map(\.littleEndian)), to: folder + "/\(name).users")
        try AtomicFile.write(bytes(m.columns.map(\.littleEndian)), to: folder + "/\(name).items")
        try AtomicFile.write(bytes(m.values.map { $0.bitPattern.littleEndian }), to: folder + "/\(name).ratings")
    }

    /// Runs `program` (looked up in PATH) and returns its exit status, stdout, and the end of
    /// its stderr.
    static func execute(_ program: String, _ arguments: [String]) throws -> (status: Int32, output: String, errors: String) {
        let result = try Subprocess.run(program, arguments)
        return (result.status, result.output, String(result.errors.suffix(2000)))
    }
}
