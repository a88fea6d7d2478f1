import Foundation
import StrataSQL

/// The `strata_seed_history` table: one row per catalogue per seed run that wrote.
///
/// Created like the migrations' history, from the dialect's column types, so the same
/// code makes it on both backends. Its `id` is a UUID chosen here (neither backend's
/// identity syntax works on the other); `run_id` is shared by the catalogues of one run.
struct SeedHistory: Sendable {
    static let table = "strata_seed_history"

    let dialect: any SQLDialect

    /// Creates the table when missing. DDL: MySQL commits on it, so call it outside the
    /// load's transaction.
    func create(_ conn: any SQLConnection) throws {
        let t = { dialect.columnType($0) }
        let q = try dialect.quoteIdentifier(Self.table)
        let check = try dialect.quoteIdentifier("ck_\(Self.table)_seed")
        try conn.executeUnprepared("""
            CREATE TABLE IF NOT EXISTS \(q) (
                id \(t(.varchar(36))) NOT NULL PRIMARY KEY,
                run_id \(t(.varchar(36))) NOT NULL,
                seed \(t(.varchar(32))) NOT NULL,
                file \(t(.varchar(1024))) NOT NULL,
                checksum \(t(.varchar(64))) NOT NULL,
                row_count \(t(.integer)) NOT NULL,
                inserted \(t(.integer)) NOT NULL,
                updated \(t(.integer)) NOT NULL,
                unchanged \(t(.integer)) NOT NULL,
                deactivated \(t(.integer)) NOT NULL,
                pruned \(t(.boolean)) NOT NULL,
                dry_run \(t(.boolean)) NOT NULL,
                applied_at \(t(.timestamp)) NOT NULL,
                applied_by \(t(.varchar(255))) NOT NULL,
                CONSTRAINT \(check) CHECK (seed IN ('agent-costs', 'plans', 'credit-packages'))
            )\(dialect.createTableSuffix)
            """)
    }

    /// Records one catalogue of a run, inside the run's transaction.
    func insert(_ conn: any SQLConnection, _ report: SeedReport, runID: String, at now: SQLTimestamp,
                by appliedBy: String) throws {
        try conn.execute("""
            INSERT INTO \(identifier: Self.table) (id, run_id, seed, file, checksum, row_count, inserted, updated,
                unchanged, deactivated, pruned, dry_run, applied_at, applied_by)
            VALUES (\(UUID().uuidString.lowercased()), \(runID), \(report.kind.rawValue), \(report.file),
                \(report.checksum), \(report.rows), \(report.inserted), \(report.updated), \(report.unchanged),
                \(report.deactivated), \(report.pruned), \(report.dryRun), \(now), \(appliedBy))
            """)
    }
}
