import RecKernels

/// BLAS threading for code that runs its own Dispatch workers, for the modules above this one
/// (which do not link RecKernels themselves).
public enum BLASThreads {
    /// `BLAS.singleThreaded`: one BLAS thread per call while the Dispatch workers provide the
    /// parallelism (nesting both oversubscribes the cores).
    public static func single<T>(_ body: () throws -> T) rethrows -> T { try BLAS.singleThreaded(body) }
}
