import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import RecStore

/// SIGTERM (systemd stop, Slurm's scancel, kill), SIGINT (Ctrl-C) and SIGHUP (the terminal
/// went away) end a run the way a failure does, not silently: a log line naming the signal and
/// the stage that was running, this process's temporary files removed, rec-pipeline's
/// monitoring file rewritten for a failed run, and exit code 128 + the signal's number (129,
/// 130, 143: the shell's convention, which systemd and cron read as "killed by a signal").
///
/// The signal handler itself only writes the signal's number to a pipe (the one thing it can
/// safely do); a thread reading that pipe does the cleanup with ordinary code, through
/// `RunState`, then ends the process with `_exit`. The published exports stay one whole set:
/// the cleanup waits for a set being renamed into place, and no set is renamed after it.
///
/// SIGQUIT keeps its default (a core dump, to see where a hung run was); like SIGKILL it
/// leaves temporary files, which the next run removes. A signal that the process was started
/// with ignored (`nohup` ignores SIGHUP) stays ignored. A second signal during the cleanup
/// changes nothing.
enum StopSignals {
    static let handled: [(number: Int32, name: String)] = [(SIGHUP, "SIGHUP"), (SIGINT, "SIGINT"), (SIGTERM, "SIGTERM")]

    /// The pipe's write end, set once before any handler is installed.
    nonisolated(unsafe) static var pipeWrite: Int32 = -1

    /// Installs the handlers and starts the thread that acts on them; `label` names the
    /// executable in the log line. Call it first thing in `main`.
    static func install(label: String) {
        var fds: [Int32] = [-1, -1]
        guard pipe(&fds) == 0 else { return }
        for fd in fds { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        // A full pipe (many signals at once) must not block the handler.
        _ = fcntl(fds[1], F_SETFL, fcntl(fds[1], F_GETFL) | O_NONBLOCK)
        pipeWrite = fds[1]
        let reader = fds[0]
        let thread = Thread {
            var byte: UInt8 = 0
            while true {
                let n = read(reader, &byte, 1)
                if n == 1 { stop(Int32(byte), label: label) } else if n < 0 && errno == EINTR { continue } else { return }
            }
        }
        thread.name = "stop-signals"
        thread.start()
        var unblock = sigset_t()
        sigemptyset(&unblock)
        for s in handled {
            // Keep a signal ignored if it was ignored when the process started.
            let previous = signal(s.number, stopSignalHandler)
            if let previous, unsafeBitCast(previous, to: Int.self) == unsafeBitCast(SIG_IGN, to: Int.self) {
                signal(s.number, SIG_IGN)
                continue
            }
            sigaddset(&unblock, s.number)
        }
        // The mask is inherited from whoever started us, which may block them.
        pthread_sigmask(SIG_UNBLOCK, &unblock, nil)
    }

    /// The cleanup, on the pipe's thread. Returns (and the signal is ignored) when the main
    /// thread has already recorded the run's end: it then exits with that outcome's code.
    static func stop(_ signal: Int32, label: String) {
        guard RunState.shared.beginStop() else { return }
        let name = handled.first { $0.number == signal }?.name ?? "signal \(signal)"
        let code = ExitCodes.stopped(by: signal)
        say(label, "error", "stopped by \(name) \(RunState.shared.whereabouts); exit code \(code)")
        let removed = RunState.shared.removeTemporaries()
        if !removed.isEmpty {
            say(label, "info", "removed \(removed.count) temporary file\(removed.count == 1 ? "" : "s") of this run: \(removed.joined(separator: ", "))")
        }
        RunState.shared.runStopHook(exitCode: code)
        RunState.shared.clearLocks()
        _exit(code)
    }

    /// A log line in `StderrLogHandler`'s format, written whatever the log level: a run that
    /// was stopped must say so even with `--quiet`.
    static func say(_ label: String, _ level: String, _ message: String) {
        let line = Array("\(StderrLogHandler.timestamp()) \(label) \(level): \(message)\n".utf8)
        line.withUnsafeBytes { buffer in
            var offset = 0
            while offset < buffer.count {
                let n = write(STDERR_FILENO, buffer.baseAddress! + offset, buffer.count - offset)
                if n < 0 && errno == EINTR { continue }
                if n <= 0 { return }
                offset += n
            }
        }
    }
}

/// The signal handler: only async-signal-safe calls (write), errno kept.
private func stopSignalHandler(_ signal: Int32) {
    let saved = errno
    var byte = UInt8(truncatingIfNeeded: signal)
    _ = write(StopSignals.pipeWrite, &byte, 1)
    errno = saved
}
