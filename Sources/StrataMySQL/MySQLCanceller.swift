internal import CMariaDB
import Foundation
import Logging
import StrataSQL

/// Cancels the statement a MySQL connection is running, from any thread.
///
/// MySQL has no cancel request on the connection itself: this opens a short side
/// connection with the same credentials, sends `KILL QUERY <thread id>` and closes it.
/// The running statement then fails with 1317, a ``DatabaseError`` `.canceled`, and its
/// connection stays usable.
///
/// A `KILL QUERY` that reaches the server while the connection is between statements is
/// lost (the server only marks a statement that runs). A cancel can land there: the task
/// is cancelled just after its work checked for it and just before the work sent its
/// next statement. So the cancel stays requested until the lease that asked for it ends
/// (``forget()``), and a statement that keeps waiting for the server while a cancel is
/// requested is killed again, once a second (``MySQLSocketWait``).
///
/// ``cancel()`` returns at once: the side connection is opened on a thread of its own,
/// since the caller may be a signal handler's queue or an event loop, and connecting to
/// a loaded server can take seconds. The lease's end (``forget()``) waits for a kill in
/// flight, so a kill sent late never reaches the next lease's statement.
final class MySQLCanceller: SQLCanceller, Sendable {
    /// A statement still waiting this long after the last kill is killed again.
    static let repeatAfter: Duration = .seconds(1)

    let endpoint: MySQLEndpoint
    let threadID: UInt
    let logger: Logger

    private struct Request {
        var requested = false
        var lastKill: ContinuousClock.Instant?
    }
    private let request = StrataMutex(Request())
    /// Held while a kill is sent and while the lease's request is forgotten.
    private let sending = StrataMutex(())

    init(endpoint: MySQLEndpoint, threadID: UInt, logger: Logger) {
        self.endpoint = endpoint
        self.threadID = threadID
        self.logger = logger
    }

    /// Kills the running statement, and keeps the cancel requested for the statements
    /// that follow in the same lease.
    func cancel() {
        request.withLock { $0.requested = true }
        Thread.detachNewThread { [self] in
            sending.withLock { _ in
                // The lease may have ended while this thread started.
                if request.withLock({ $0.requested }) { send() }
            }
        }
    }

    func forget() {
        sending.withLock { _ in request.withLock { $0 = Request() } }
    }

    /// Whether a statement waiting for the server now should be killed: a cancel is
    /// requested (by ``cancel()``, or by the task on the connection's thread) and no
    /// kill went out in the last ``repeatAfter``.
    func killIsDue(taskCancelled: Bool, now: ContinuousClock.Instant) -> Bool {
        request.withLock { r in
            guard taskCancelled || r.requested else { return false }
            guard let last = r.lastKill else { return true }
            return now - last >= Self.repeatAfter
        }
    }

    /// Sends `KILL QUERY` for the connection's thread over a side connection, from the
    /// connection's own thread (its statement is waiting, so its lease cannot end).
    func kill() {
        sending.withLock { _ in send() }
    }

    private func send() {
        request.withLock { $0.lastKill = .now }
        do {
            // No default database: the kill must work even if that database is gone.
            let side = try endpoint.open(database: nil, timeout: min(endpoint.connectTimeout, 5))
            defer { mysql_close(side) }
            let sql = "KILL QUERY \(threadID)"
            if mysql_real_query(side, sql, UInt(sql.utf8.count)) != 0 {
                let message = String(cString: mysql_error(side))
                logger.warning("could not cancel the running statement", metadata: ["error": "\(message)", "thread-id": "\(threadID)"])
            }
        } catch {
            logger.warning("could not cancel the running statement", metadata: ["error": "\(error)", "thread-id": "\(threadID)"])
        }
    }
}
