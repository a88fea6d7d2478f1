import Foundation
import StrataSQL

/// What a connection and its canceller share: whether a statement is running and since
/// when, and whether the lease running it asked for a cancel.
///
/// `PQcancel` reaches only a statement the server is running. A cancel sent while the
/// connection is between two statements (the task was cancelled just after its work
/// last checked, just before it sent its next statement) is dropped, and the statement
/// that follows would run to its end. So a cancel stays requested until its lease ends
/// (``SQLCanceller/forget()``), and while it is, a statement that has been running for a
/// second since the last cancel is cancelled again (``PostgresCanceller``). A statement
/// that answers within the second (the `ROLLBACK` after a cancel) is never touched.
final class PostgresStatementWatch: Sendable {
    /// How long a statement runs, after the last cancel, before it is cancelled again.
    static let repeatAfter: Duration = .seconds(1)

    private struct State {
        var runningSince: ContinuousClock.Instant?
        var requested = false
        var lastCancel: ContinuousClock.Instant?
        var watching = false
    }
    private let state = StrataMutex(State())

    /// Runs one round of statements, marked as running.
    func running<T>(_ body: () throws -> T) rethrows -> T {
        state.withLock { $0.runningSince = .now }
        defer { state.withLock { $0.runningSince = nil } }
        return try body()
    }

    /// Records a cancel just sent; `true` when no watcher runs yet and the caller should
    /// start one.
    func requestCancel() -> Bool {
        state.withLock { s in
            s.requested = true
            s.lastCancel = .now
            defer { s.watching = true }
            return !s.watching
        }
    }

    func forget() {
        state.withLock { $0.requested = false }
    }

    /// Whether the lease still asks for a cancel.
    var isRequested: Bool { state.withLock { $0.requested } }

    enum Next { case stop, wait, cancelAgain }

    /// What the watcher does now: stop once the lease is over, cancel again a statement
    /// that kept running for ``repeatAfter`` since the last cancel and since it started.
    func next(now: ContinuousClock.Instant) -> Next {
        state.withLock { s in
            guard s.requested else {
                s.watching = false
                return .stop
            }
            guard let since = s.runningSince, now - since >= Self.repeatAfter,
                  s.lastCancel.map({ now - $0 >= Self.repeatAfter }) ?? true else { return .wait }
            s.lastCancel = now
            return .cancelAgain
        }
    }
}
