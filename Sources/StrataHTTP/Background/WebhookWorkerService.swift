import Logging
import ServiceLifecycle
import StrataBilling

/// One webhook worker of `strata serve`: claims due events and runs their handlers,
/// until the process shuts down.
///
/// A pass claims up to ``batch`` due events (`FOR UPDATE SKIP LOCKED` with a lease, so
/// N workers, in this process or others, never run one event twice). When a pass found
/// a full batch the next one starts at once; otherwise the worker sleeps until the next
/// event is due, at most one second, so a new delivery waits a second at most. A pass
/// that fails (the database is away) is logged and retried after a pause that grows to
/// 30 s: a worker never takes the server down. On graceful shutdown the worker finishes
/// its pass, so each claimed event's result is recorded, then returns.
public struct WebhookWorkerService: Service {
    let worker: RetryWorker
    let batch: Int
    let logger: Logger

    public init(worker: RetryWorker, batch: Int = 10, logger: Logger) {
        self.worker = worker
        self.batch = batch
        self.logger = logger
    }

    public func run() async throws {
        var failures = 0
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            var pause = 1.0
            do {
                let summary = try await worker.runDue(limit: batch)
                failures = 0
                if summary.claimed > 0 {
                    logger.info("webhook pass", metadata: [
                        "worker": "\(worker.id)", "processed": "\(summary.processed)", "retried": "\(summary.retried)",
                        "dead": "\(summary.dead)"])
                }
                if summary.claimed >= batch { continue }
                if let due = try await worker.nextDue() {
                    let now = worker.clock.now()
                    pause = min(max(Double(due.microsecondsSinceEpoch - now.microsecondsSinceEpoch) / 1_000_000, 0), 1)
                }
            } catch {
                failures += 1
                pause = min(30, Double(1 << min(failures, 5)))
                logger.error("webhook pass failed", metadata: ["worker": "\(worker.id)", "error": "\(error)",
                                                               "retry_in_s": "\(pause)"])
            }
            if pause > 0 {
                let wait = pause
                try? await cancelWhenGracefulShutdown { try await Task.sleep(for: .seconds(wait)) }
            }
        }
    }
}
