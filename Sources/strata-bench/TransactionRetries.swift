import Logging
import Synchronization

/// The transactions a benchmark's `Database` pools ran again, counted from their log.
///
/// `Database.transaction` runs its whole closure again after a deadlock or a
/// serialization failure (on a Galera node, a certification conflict: 1213 at any
/// statement or at `COMMIT`), and says so only in a debug line, `transaction retried`.
/// A benchmark spread over a cluster reports how many charges certification sent round
/// again, so its logger's handler takes every level, counts those lines, writes warnings
/// and worse to standard error, and drops the other debug and info lines unwritten, as
/// the benchmarks' warning level always did.
///
///     let retries = TransactionRetries()
///     let logger = Logger(label: "strata-bench") { retries.logHandler(label: $0) }
///     // … run charges through a Database made with `logger` …
///     print("retries \(retries.count)")
final class TransactionRetries: Sendable {
    /// The message `Database.transaction` logs, at debug level, before each new attempt.
    static let message = "transaction retried"

    private let counted = Atomic<Int>(0)

    /// Attempts run again so far, in every pool logging through this counter's handlers.
    var count: Int { counted.load(ordering: .relaxed) }

    /// A handler that counts into this counter and writes warnings and worse to standard error.
    func logHandler(label: String) -> some LogHandler {
        Handler(retries: self, stream: .standardError(label: label))
    }

    private struct Handler: LogHandler {
        let retries: TransactionRetries
        var stream: StreamLogHandler
        var logLevel: Logger.Level = .debug

        var metadata: Logger.Metadata {
            get { stream.metadata }
            set { stream.metadata = newValue }
        }

        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { stream[metadataKey: key] }
            set { stream[metadataKey: key] = newValue }
        }

        func log(event: LogEvent) {
            if event.level == .debug, event.message.description == TransactionRetries.message {
                retries.counted.add(1, ordering: .relaxed)
            }
            if event.level >= .warning { stream.log(event: event) }
        }
    }
}
