import Foundation

/// A value that any thread may read and change, one at a time: the one lock wrapper of the
/// project's shared state (worker counters, first errors, pools, caches).
package final class Locked<Value>: @unchecked Sendable {
    private let lock = NSLock()
    private var value: Value

    package init(_ value: Value) { self.value = value }

    /// Runs `body` on the value with the lock held.
    package func withLock<R>(_ body: (inout Value) throws -> R) rethrows -> R {
        lock.lock()
        defer { lock.unlock() }
        return try body(&value)
    }
}

extension Locked where Value == (any Error)? {
    /// Keeps the first error any worker reports; later ones are dropped.
    package func keepFirst(_ error: any Error) { withLock { if $0 == nil { $0 = error } } }
}
