import Foundation
import Logging
import RecStore
import RecCore

/// Log lines for people and cron mail: `2026-11-30T04:39:11Z rec-train info: message`, on
/// stderr. Data never goes to stderr, diagnostics never to stdout. Every message passes
/// through `VisibleText.escape`: text quoted from input (titles, paths, field values) never
/// reaches the terminal or the log with its control characters, and one event is one line.
struct StderrLogHandler: LogHandler {
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level
    let label: String

    public init(label: String, level: Logger.Level) {
        self.label = label
        self.logLevel = level
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        // While a stop signal is handled, the failures it causes elsewhere are not news.
        if RunState.shared.silencesThisThread { return }
        let stamp = StderrLogHandler.timestamp()
        let line = "\(stamp) \(VisibleText.escape(label)) \(event.level): \(VisibleText.escape("\(event.message)"))\n"
        FileHandle.standardError.write(Data(line.utf8))
    }

    static func timestamp() -> String {
        var t = time(nil)
        var parts = tm()
        gmtime_r(&t, &parts)
        return String(format: "%04d-%02d-%02dT%02d:%02d:%02dZ", parts.tm_year + 1900, parts.tm_mon + 1, parts.tm_mday,
                      parts.tm_hour, parts.tm_min, parts.tm_sec)
    }
}

/// A logger for one executable; `quiet` keeps warnings and errors only.
public func makeLogger(_ label: String, quiet: Bool) -> Logger {
    Logger(label: label) { StderrLogHandler(label: $0, level: quiet ? .warning : .info) }
}

/// A progress bar on stderr, drawn only when stderr is a terminal (cron mail and log files get
/// the log lines alone), and not with `--quiet`.
public func makeProgress(quiet: Bool) -> @Sendable (String, Int, Int) -> Void {
    guard !quiet, isatty(STDERR_FILENO) == 1 else { return { _, _, _ in } }
    return { what, done, total in
        let width = 30
        let filled = total > 0 ? width * done / total : width
        let bar = String(repeating: "#", count: filled) + String(repeating: "-", count: width - filled)
        let end = done >= total ? "\n" : ""
        FileHandle.standardError.write(Data("\r\u{1B}[K[\(bar)] \(VisibleText.escape(what)) \(done)/\(total)\(end)".utf8))
    }
}
