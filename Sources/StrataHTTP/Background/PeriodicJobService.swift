import Logging
import ServiceLifecycle

/// A job that `strata serve` runs every `interval` seconds until shutdown: the grace
/// sweep, the purge of expired idempotency keys.
///
/// The first run is at start, so a process that restarts often still runs its jobs.
/// A failed run is logged and the job waits for its next turn. Both jobs are safe on
/// several processes at once, so each `strata serve` runs its own.
public struct PeriodicJobService: Service {
    let name: String
    let interval: Double
    let job: @Sendable () async throws -> String
    let logger: Logger

    /// - Parameter job: one run; returns a short summary for the log.
    public init(name: String, interval: Double, logger: Logger, job: @escaping @Sendable () async throws -> String) {
        self.name = name
        self.interval = interval
        self.job = job
        self.logger = logger
    }

    public func run() async throws {
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            do {
                let summary = try await job()
                logger.info("periodic job ran", metadata: ["job": "\(name)", "result": "\(summary)"])
            } catch {
                logger.error("periodic job failed", metadata: ["job": "\(name)", "error": "\(error)"])
            }
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: .seconds(interval)) }
        }
    }
}
