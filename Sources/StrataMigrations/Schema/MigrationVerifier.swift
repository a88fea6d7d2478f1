import Foundation
import StrataSQL

/// What `verify` found.
public struct VerifyReport: Sendable {
    /// Migrations whose up, down and up again left the schema as it should be.
    public var verified: [String] = []
    /// Irreversible migrations, applied but not reverted.
    public var skipped: [String] = []
    /// The first migration that failed the check, and the differences.
    public var failure: (migration: String, differences: [String])?

    public init() {}
}

extension Migrator {
    /// Applies every migration up, down and up again on this (scratch) database, and
    /// checks that the schema after each down equals the schema before its up, and
    /// that the second up builds the same schema as the first.
    ///
    /// The database must be empty. When every check passes, the migrations are reverted
    /// again so the scratch database ends empty.
    /// - Throws: ``MigrationError/refused(_:)`` for a database that is not empty, or
    ///   any error from running the migrations.
    public func verify(progress: @escaping @Sendable (String) -> Void = { _ in }) async throws -> VerifyReport {
        let migrations = migrations
        let dialect = database.dialect
        let appliedBy = options.appliedBy
        let logger = logger
        let inspector = database.dialect.schemaInspector
        let historyTable = options.historyTable
        let databaseName = database.url.database
        return try await withLock { conn, _, isCancelled, history in
            let executor = MigrationExecutor(history: history, dialect: dialect, appliedBy: appliedBy,
                                             toolVersion: Self.toolVersion, displayPath: { $0.path }, logger: logger)
            let excluded = Self.strataTables(history: historyTable)
            let initial = try inspector.snapshot(conn, excluding: excluded)
            let existing = try history.records(conn)
            guard initial.tables.isEmpty && existing.isEmpty else {
                let names = initial.tables.keys.sorted().prefix(5).joined(separator: ", ")
                throw MigrationError.refused("scratch database '\(databaseName)' is not empty (\(existing.isEmpty ? "tables: \(names)" : "\(existing.count) migrations recorded")): verify needs an empty database it may change")
            }
            try history.create(conn)
            var report = VerifyReport()
            func step(_ m: Migration, _ d: MigrationDirection) -> MigrationStep {
                MigrationStep(migration: m, direction: d, script: m.script(d)!, resumeAt: 0)
            }
            for m in migrations.migrations {
                let label = m.label
                let before = try inspector.snapshot(conn, excluding: excluded)
                _ = try executor.run(step(m, .up), on: conn, existing: nil, isCancelled: isCancelled)
                guard m.down != nil else {
                    report.skipped.append(label)
                    progress("skip \(label): irreversible")
                    continue
                }
                let afterUp = try inspector.snapshot(conn, excluding: excluded)
                _ = try executor.run(step(m, .down), on: conn, existing: try history.record(conn, version: m.version), isCancelled: isCancelled)
                let afterDown = try inspector.snapshot(conn, excluding: excluded)
                let downDiff = SchemaDiff.differences(from: before, to: afterDown, mode: .exact,
                                                      labels: ("before up", "after down"))
                if !downDiff.isEmpty {
                    report.failure = (label, downDiff)
                    return report
                }
                _ = try executor.run(step(m, .up), on: conn, existing: nil, isCancelled: isCancelled)
                let afterRedo = try inspector.snapshot(conn, excluding: excluded)
                let redoDiff = SchemaDiff.differences(from: afterUp, to: afterRedo, mode: .exact,
                                                      labels: ("first up", "up after down"))
                if !redoDiff.isEmpty {
                    report.failure = (label, redoDiff)
                    return report
                }
                report.verified.append(label)
                progress("ok   \(label): up, down, up")
            }
            // Leave the scratch database as it was found: empty.
            for m in migrations.migrations.reversed() where m.down != nil {
                _ = try executor.run(step(m, .down), on: conn, existing: try history.record(conn, version: m.version), isCancelled: isCancelled)
            }
            return report
        }
    }

    /// Compares the schemas two databases hold, by type family: one PostgreSQL, one MySQL,
    /// migrated to the same versions.
    ///
    /// - Returns: every difference, one line each; empty when the schemas agree.
    public static func parity(_ a: Migrator, _ b: Migrator) async throws -> [String] {
        let recordsA = try await a.records().filter(\.isApplied).map(\.version)
        let recordsB = try await b.records().filter(\.isApplied).map(\.version)
        let labelA = a.database.dialect.backend.rawValue, labelB = b.database.dialect.backend.rawValue
        var differences: [String] = []
        if recordsA != recordsB {
            differences.append("applied versions differ: \(labelA) has \(recordsA.last?.description ?? "none") (\(recordsA.count) applied), \(labelB) has \(recordsB.last?.description ?? "none") (\(recordsB.count) applied)")
        }
        let snapshotA = try await a.snapshot(), snapshotB = try await b.snapshot()
        differences += SchemaDiff.differences(from: snapshotA, to: snapshotB, mode: .parity, labels: (labelA, labelB))
        return differences
    }

    /// Strata's own tables, which no snapshot shows: the history, its journal, the
    /// table lock's rows and their events.
    static func strataTables(history: String) -> Set<String> {
        [history, StatementJournal.tableName(forHistory: history), TableMigrationLock.table, MigrationLockEvents.table]
    }

    /// The schema of this database, without Strata's own tables.
    public func snapshot() async throws -> SchemaSnapshot {
        let inspector = database.dialect.schemaInspector
        let excluded = Self.strataTables(history: options.historyTable)
        return try await database.withConnection { try inspector.snapshot($0, excluding: excluded) }
    }
}
