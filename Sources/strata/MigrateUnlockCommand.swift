import ArgumentParser
import Foundation
import StrataMigrations
import StrataSQL

/// `strata migrate unlock [--force]`: removes the table lock a dead run left behind.
struct MigrateUnlock: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "unlock",
        abstract: "Remove the table lock of a run that died (one whose lease has ended; --force for one that has not), with an audit row in strata_lock_events.")
    @OptionGroup var connection: ConnectionOptions
    @OptionGroup var migration: MigrationOptions
    @OptionGroup var output: OutputOptions
    @Flag(help: "Remove the lock even though its lease has not ended: only once you know its run is gone.")
    var force = false

    func run() async throws {
        try await guarded(json: output.json) {
            try await migration.withMigrator(connection) { migrator in
                let removed = try await migrator.unlock(force: force)
                if output.json {
                    printJSON(["command": "unlock", "ok": true, "removed": removed.map(lockHolderJSON) as Any? ?? NSNull()])
                } else if let removed {
                    print("removed the migration lock of \(removed.summary)\(removed.isExpired ? "" : " (forced: its lease had not ended)")")
                } else {
                    print("no table lock is held on \(migrator.lockName)")
                }
            }
        }
    }
}

/// A lock holder as `--json` shows it.
func lockHolderJSON(_ h: MigrationLockHolder) -> [String: Any] {
    [
        "kind": h.kind.rawValue, "name": h.name, "owner": h.owner ?? NSNull(), "host": h.host ?? NSNull(),
        "pid": h.pid ?? NSNull(), "taken_at": h.takenAt?.iso8601 ?? NSNull(),
        "expires_at": h.expiresAt?.iso8601 ?? NSNull(), "expired": h.isExpired,
    ]
}
