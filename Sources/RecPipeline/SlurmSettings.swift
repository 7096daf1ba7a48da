extension PipelineConfig {
    /// The `slurm` section: what `rec-pipeline --engine slurm` gives `sbatch`. Where and how
    /// fast, never what: in no fingerprint (`Pipeline.operationalSettings`).
    public struct Slurm: Codable, Sendable, Equatable {
        /// `--partition`; "" for the cluster's default.
        public var partition = ""
        /// `--time` of every job, in Slurm's formats (`MM`, `HH:MM:SS`, `D-HH`).
        public var timeLimit = "01:00:00"
        /// `--mem` of every job or array task (`4G`, `500M`); "" for the cluster's default.
        public var memoryPerTask = ""
        /// `--cpus-per-task`, also each job's `--workers`; 0 for the cluster's default (the
        /// stages then use every core they see).
        public var cpusPerTask = 0
        /// More `sbatch` options, one argument each (e.g. `["--account=recsys", "--qos=batch"]`).
        public var extraOptions: [String] = []
        /// Where the rec-* executables are on the compute nodes; "" for the folder of the
        /// rec-pipeline that submits (shared storage).
        public var binDirectory = ""
    }
}
