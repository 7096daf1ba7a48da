import RecKernels

/// BLAS threading for code that runs its own Dispatch workers.
public enum BLASThreads {
    /// Runs `body` with one BLAS thread per call (the Dispatch workers provide the parallelism:
    /// nesting both oversubscribes the cores), restoring the previous setting afterwards.
    public static func single<T>(_ body: () throws -> T) rethrows -> T { try BLAS.withThreads(1, body) }
}
