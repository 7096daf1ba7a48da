import RecKit
import Testing

/// Runs `body` and returns the `RecError` it threw; records an issue when it returns normally
/// or throws something else.
func recError<T>(sourceLocation: SourceLocation = #_sourceLocation, _ body: () throws -> T) -> RecError? {
    do {
        let value = try body()
        Issue.record("expected a RecError, got \(value)", sourceLocation: sourceLocation)
    } catch let e as RecError {
        return e
    } catch {
        Issue.record("expected a RecError, got \(type(of: error)): \(error)", sourceLocation: sourceLocation)
    }
    return nil
}
