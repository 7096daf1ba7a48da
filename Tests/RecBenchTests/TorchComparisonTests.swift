import Foundation
import Testing
@testable import RecData
@testable import RecStore
import RecTestSupport
@testable import RecBench

struct TorchComparisonTests {
    @Test func unavailable_whenTheScriptIsMissing_saysWhich() {
        let t = TorchComparison(python: "python3", script: "/nonexistent/bench_torch.py")
        #expect(t.unavailable() == "/nonexistent/bench_torch.py not found")
    }

    @Test func unavailable_whenPythonCannotImportTorch_saysSo() throws {
        let temp = try TempDir(prefix: "rec-torch")
        let dir = temp.path
        let script = dir + "/bench.py"
        try AtomicFile.write("print('unused')\n", to: script)
        // `false` exits 1 whatever it is asked: a Python without torch, as far as the check goes.
        let t = TorchComparison(python: "false", script: script)
        #expect(t.unavailable() == "torch is not importable by false")
    }

    @Test func write_givesOneLittleEndianValuePerEntry() throws {
        let m = CSRMatrix(rows: 3, cols: 5, rowStart: [0, 2, 2, 3], columns: [1, 4, 0], values: [3.5, 1, 5])
        let temp = try TempDir(prefix: "rec-torch")
        let dir = temp.path
        try TorchComparison(python: "python3", script: "unused").write(m, name: "train", to: dir)
        func int32s(_ suffix: String) throws -> [Int32] {
            let b = try AtomicFile.read(dir + "/train." + suffix)
            return stride(from: 0, to: b.count, by: 4).map { Int32(bitPattern: UInt32(b[$0]) | UInt32(b[$0 + 1]) << 8 | UInt32(b[$0 + 2]) << 16 | UInt32(b[$0 + 3]) << 24) }
        }
        #expect(try int32s("users") == [0, 0, 2])
        #expect(try int32s("items") == [1, 4, 0])
        #expect(try int32s("ratings").map { Float(bitPattern: UInt32(bitPattern: $0)) } == [3.5, 1, 5])
    }
}
