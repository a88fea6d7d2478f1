internal import CLibPQ
import Foundation
import StrataSQL

/// Cancels the running statement with `PQcancel`, which libpq documents as thread-safe.
///
/// Until the lease that asked ends, a watcher thread cancels again a statement that
/// kept running (see ``PostgresStatementWatch``).
final class PostgresCanceller: SQLCanceller, @unchecked Sendable {
    private let handle: OpaquePointer
    private let watch: PostgresStatementWatch

    init(_ handle: OpaquePointer, watch: PostgresStatementWatch) {
        self.handle = handle
        self.watch = watch
    }
    deinit { PQfreeCancel(handle) }

    func cancel() {
        sendCancel()
        guard watch.requestCancel() else { return }
        // Holds the canceller (and its libpq handle) until the lease is over.
        Thread.detachNewThread { [self] in
            while true {
                switch watch.next(now: .now) {
                case .stop: return
                case .wait: Thread.sleep(forTimeInterval: 0.1)
                case .cancelAgain: sendCancel()
                }
            }
        }
    }

    func forget() { watch.forget() }

    private func sendCancel() {
        var buffer = [CChar](repeating: 0, count: 256)
        _ = PQcancel(handle, &buffer, Int32(buffer.count))
    }
}
