import Logging
import StrataMigrations
import StrataSQL

/// Whether this process should get traffic: the database answers, the schema is the one
/// the project's migrations describe, and the secrets are set.
///
/// Uses the migration engine's own status (files beside history, no lock), so `ready`
/// means exactly what `strata migrate status` would call up to date: no migration
/// pending and none changed, missing, failed or half-done.
public struct ReadinessCheck: Sendable {
    let database: Database
    let migrations: MigrationSet
    let secretsConfigured: Bool
    let logger: Logger

    public init(database: Database, migrations: MigrationSet, secretsConfigured: Bool, logger: Logger) {
        self.database = database
        self.migrations = migrations
        self.secretsConfigured = secretsConfigured
        self.logger = logger
    }

    /// Why the process is not ready, or `nil` when it is.
    public func problem() async -> String? {
        guard secretsConfigured else { return "the JWT and webhook secrets are not both configured" }
        let status: MigrationStatus
        do {
            _ = try await database.withConnection { try $0.queryFirst("SELECT 1 AS one") }
            status = try await Migrator(database: database, migrations: migrations, logger: logger).status()
        } catch {
            logger.warning("readiness check failed", metadata: ["error": "\(error)"])
            return "the database does not answer"
        }
        if let first = status.problems.first {
            return "the migration history needs attention (\(status.problems.count), first: \(first.label) is \(first.state))"
        }
        if let first = status.pending.first {
            return "\(status.pending.count) migration\(status.pending.count == 1 ? " is" : "s are") pending (first: \(first.label))"
        }
        return nil
    }
}
