/// One epoch of training: what the log prints, the model artefact keeps and metrics.json shows.
public struct EpochRecord: Codable, Sendable, Equatable {
    /// 1-based.
    public var epoch: Int
    /// Mean over the epoch's batches of the batch loss (masked MSE).
    public var loss: Double
    public var trainRMSE: Double?
    public var validationRMSE: Double?
    /// Wall-clock seconds; logged, but left out of artefacts so that they stay reproducible.
    public var seconds: Double?

    public init(epoch: Int, loss: Double, trainRMSE: Double? = nil, validationRMSE: Double? = nil, seconds: Double? = nil) {
        self.epoch = epoch
        self.loss = loss
        self.trainRMSE = trainRMSE
        self.validationRMSE = validationRMSE
        self.seconds = seconds
    }
}
