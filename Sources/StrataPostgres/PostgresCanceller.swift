internal import CLibPQ
import Foundation
import StrataSQL

/// Cancels the running statement with `PQcancel`, which libpq documents as thread-safe.
///
/// Until the lease that asked ends, a watcher thread cancels again a statement that
/// kept running (see ``PostgresStatementWatch``).
///
/// ``cancel()`` returns at once: `PQcancel` connects to the server, which can take
/// seconds on a loaded machine, and the caller may be a signal handler's queue or an
/// event loop. The watcher thread sends it; the lease's end (``forget()``) waits for a
/// cancel in flight, so one sent late never reaches the next lease's statement.
final class PostgresCanceller: SQLCanceller, @unchecked Sendable {
    private let handle: OpaquePointer
    private let watch: PostgresStatementWatch
    /// Held while a cancel is sent and while the lease's request is forgotten.
    private let sending = StrataMutex(())

    init(_ handle: OpaquePointer, watch: PostgresStatementWatch) {
        self.handle = handle
        self.watch = watch
    }
    deinit { PQfreeCancel(handle) }

    func cancel() {
        let startWatcher = watch.requestCancel()
        // Holds the canceller (and its libpq handle) until the lease is over.
        Thread.detachNewThread { [self] in
            sendCancel()
            guard startWatcher else { return }
            while true {
                switch watch.next(now: .now) {
                case .stop: return
                case .wait: Thread.sleep(forTimeInterval: 0.1)
                case .cancelAgain: sendCancel()
                }
            }
        }
    }

    func forget() {
        sending.withLock { _ in watch.forget() }
    }

    /// Sends the cancel unless the lease that asked for it is over.
    private func sendCancel() {
        sending.withLock { _ in
            guard watch.isRequested else { return }
            send()
        }
    }

    private func send() {
        var buffer = [CChar](repeating: 0, count: 256)
        _ = PQcancel(handle, &buffer, Int32(buffer.count))
    }
}
