import RecKernels

/// BLAS threading for code that runs its own Dispatch workers.
public enum BLASThreads {
    /// One BLAS thread per call: the Dispatch workers provide the parallelism (PLATFORM-NOTES:
    /// nesting both oversubscribes the cores).
    public static func single() { BLAS.setThreads(1) }
}
