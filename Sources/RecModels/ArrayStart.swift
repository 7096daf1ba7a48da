extension Array {
    /// Calls `body` with the address of the elements, for loops and kernels that take a pointer
    /// and a count. An empty array's buffer may have no address; `body` then gets that of a
    /// one-element scratch buffer, which it never reads since there are no elements.
    @inline(__always)
    func withUnsafeStart<R>(_ body: (UnsafePointer<Element>) throws -> R) rethrows -> R {
        try withUnsafeBufferPointer { buffer in
            if let base = buffer.baseAddress { return try body(base) }
            return try withUnsafeTemporaryAllocation(of: Element.self, capacity: 1) { try body(UnsafePointer($0.baseAddress!)) }
        }
    }

    /// `withUnsafeStart` for writing: `body` writes no element of an empty array.
    @inline(__always)
    mutating func withUnsafeMutableStart<R>(_ body: (UnsafeMutablePointer<Element>) throws -> R) rethrows -> R {
        try withUnsafeMutableBufferPointer { buffer in
            if let base = buffer.baseAddress { return try body(base) }
            return try withUnsafeTemporaryAllocation(of: Element.self, capacity: 1) { try body($0.baseAddress!) }
        }
    }
}
