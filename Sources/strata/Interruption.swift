import Dispatch
import Foundation
import Synchronization

/// SIGINT and SIGTERM while a command runs: the first stops the command cleanly, a
/// second ends the process at once.
///
/// The first signal cancels the command's task. The pool then cancels the statement
/// running on the server (libpq's cancel request, `KILL QUERY` on MariaDB), the migration
/// runner records where it stopped and stops before the next statement, a transaction
/// rolls back, and the lock is released as on any other error; the command then exits
/// with 128 + the signal's number (130, 143). Without this the process would die at
/// once while the server ran the statement on, holding the migration lock.
enum Interruption {
    private static let state = Mutex<Int32?>(nil)

    /// The signal that interrupted the command, if one did.
    static var received: Int32? { state.withLock { $0 } }

    /// Seconds after the first signal at which the process exits even if the command has
    /// not stopped yet (a server that does not answer the cancel).
    static let patience = 10

    /// Runs `body` in a task that the first SIGINT or SIGTERM cancels.
    static func cancellingOnSignal(_ body: () async throws -> Void) async throws {
        try await withoutActuallyEscaping(body) { body in
            let work = UncheckedBox(body)
            let task = Task { try await work.value() }
            let sources = [SIGINT, SIGTERM].map { signo in
                signal(signo, SIG_IGN)
                let source = DispatchSource.makeSignalSource(signal: signo, queue: .global())
                source.setEventHandler { handle(signo, cancel: task.cancel) }
                source.resume()
                return source
            }
            defer {
                for source in sources { source.cancel() }
            }
            try await task.value
        }
    }

    private static func handle(_ signo: Int32, cancel: () -> Void) {
        let first = state.withLock { received -> Bool in
            if received != nil { return false }
            received = signo
            return true
        }
        guard first else {
            // The second signal: the person wants out now.
            _exit(128 + signo)
        }
        let name = name(signo)
        FileHandle.standardError.write(Data("strata: \(name) received: cancelling the running statement and stopping (send it again to exit at once)\n".utf8))
        // Counted from the signal, whatever the cancel below costs.
        DispatchQueue.global().asyncAfter(deadline: .now() + .seconds(patience)) {
            FileHandle.standardError.write(Data("strata: error: interrupted by \(name), and the command did not stop within \(patience) seconds: exiting\n".utf8))
            _exit(128 + signo)
        }
        cancel()
    }

    /// The signal's name, for messages.
    static func name(_ signo: Int32) -> String {
        switch signo {
        case SIGINT: "SIGINT"
        case SIGTERM: "SIGTERM"
        default: "signal \(signo)"
        }
    }

    /// Carries the command's closure into the task that runs it; the caller awaits that
    /// task before the closure goes out of scope, and nothing else calls it.
    private struct UncheckedBox: @unchecked Sendable {
        let value: () async throws -> Void
        init(_ value: @escaping () async throws -> Void) { self.value = value }
    }
}
