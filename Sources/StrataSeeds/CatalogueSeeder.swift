import Foundation
import Logging
import StrataSQL

/// Loads the agent-cost catalogue, the plans and the credit packages from the seeds
/// folder into their tables, as often as needed.
///
/// A run first reads and validates every row of every requested file; any problem
/// throws a ``SeedError`` that lists them all, and nothing is written. Then one
/// transaction brings each table in line with its file by natural key (`agent_key`,
/// `code`, `package_id`): rows missing from the table are inserted, rows that differ
/// are updated, the rest are left alone, so a second run changes nothing. With `prune`,
/// active rows the file no longer has are deactivated (never deleted). The same
/// transaction records each catalogue in `strata_seed_history` with the file's SHA-256,
/// so a failure anywhere leaves every table and the history as they were.
///
/// Runs on one database take turns: a run holds a named lock (``SeedLock``) from before
/// it creates the history table until its transaction has committed, so of eight
/// pipelines seeding at once one loads and seven find every row unchanged. Each of them
/// records its run all the same: the history says who ran a seed and when, not only
/// who changed something.
///
/// ```swift
/// let seeder = CatalogueSeeder(database: db, directory: URL(fileURLWithPath: "seeds"),
///                              logger: logger, appliedBy: "deploy@ci")
/// for report in try await seeder.seed(SeedKind.allCases) {
///     print(report.kind, report.summary)   // agent-costs inserted 22, updated 0, unchanged 0, deactivated 0
/// }
/// ```
public struct CatalogueSeeder: Sendable {
    public let database: Database
    /// The folder holding `agent_costs.csv`, `plans.json` and `credit_packages.json`.
    public let directory: URL
    /// How the folder is named in messages and the history (`seeds`).
    public let directoryLabel: String
    /// Who ran the seed, for the history.
    public let appliedBy: String
    /// How long a run waits for another run's lock.
    public let lockTimeout: Duration
    private let logger: Logger
    private let clock: @Sendable () -> SQLTimestamp

    /// The history table's name.
    public static let historyTable = SeedHistory.table

    /// `user@host` of this process, the default for ``appliedBy``.
    public static var defaultAppliedBy: String {
        let env = ProcessInfo.processInfo.environment
        return "\(env["USER"] ?? env["LOGNAME"] ?? "unknown")@\(ProcessInfo.processInfo.hostName)"
    }

    /// - Parameters:
    ///   - database: where the catalogue tables are (migrated).
    ///   - directory: the seeds folder.
    ///   - directoryLabel: how to name the folder in messages; default: its path.
    ///   - logger: where a run logs what it did.
    ///   - clock: the time written to `created_at`, `updated_at` and `applied_at` (UTC).
    ///   - appliedBy: who runs the seed.
    ///   - lockTimeout: how long to wait for another run's lock.
    public init(database: Database, directory: URL, directoryLabel: String? = nil, logger: Logger,
                clock: @escaping @Sendable () -> SQLTimestamp = { SQLTimestamp(Date()) },
                appliedBy: String = CatalogueSeeder.defaultAppliedBy, lockTimeout: Duration = .seconds(60)) {
        self.lockTimeout = lockTimeout
        self.database = database
        self.directory = directory
        self.directoryLabel = directoryLabel ?? directory.path
        self.logger = logger
        self.clock = clock
        self.appliedBy = appliedBy
    }

    /// Reads and validates the files of `kinds` without touching the database.
    ///
    /// - Returns: the number of rows of each file, in load order.
    /// - Throws: ``SeedError`` with every problem of every file.
    @discardableResult
    public func validate(_ kinds: [SeedKind]) throws -> [(kind: SeedKind, rows: Int)] {
        try load(kinds).map { ($0.kind, $0.records.count) }
    }

    /// Validates the files of `kinds`, then loads them all in one transaction.
    ///
    /// - Parameters:
    ///   - kinds: the catalogues; loaded in the order of ``SeedKind/allCases`` whatever
    ///     the order given, each once.
    ///   - dryRun: validate and count against the tables, write nothing (no history row).
    ///   - prune: deactivate active rows that the file no longer has.
    /// - Returns: one report per catalogue, in load order.
    /// - Throws: ``SeedError`` when a file is invalid (nothing written), the
    ///   ``DatabaseError`` that rolled the load back, or one of category `.lockTimeout`
    ///   when another run held the lock for longer than ``lockTimeout``.
    @discardableResult
    public func seed(_ kinds: [SeedKind] = SeedKind.allCases, dryRun: Bool = false,
                     prune: Bool = false) async throws -> [SeedReport] {
        let files = try load(kinds)
        let now = clock()
        let history = SeedHistory(dialect: database.dialect)
        let runID = UUID().uuidString.lowercased()
        let appliedBy = self.appliedBy
        let write: @Sendable (any SQLConnection, () -> Bool) throws -> [SeedReport] = { conn, isCancelled in
            try files.map { file in
                let counts = try CatalogueWriter(table: file.table)
                    .apply(file.records, on: conn, at: now, prune: prune, dryRun: dryRun, isCancelled: isCancelled)
                let report = SeedReport(
                    kind: file.kind, file: file.label, checksum: file.checksum, rows: file.records.count,
                    inserted: counts.inserted, updated: counts.updated, unchanged: counts.unchanged,
                    deactivated: counts.deactivated, dryRun: dryRun, pruned: prune)
                if !dryRun {
                    try history.insert(conn, report, runID: runID, at: now, by: appliedBy)
                }
                return report
            }
        }
        let reports: [SeedReport]
        if dryRun {
            // Reads only: no lock, no history table.
            reports = try await database.transaction { try write($0, { false }) }
        } else {
            let lock = SeedLock(database: database.url.database, timeout: lockTimeout)
            let attempts = database.maxTransactionAttempts
            let logger = logger
            reports = try await CancellationFlag.tracking { cancelled in
                try await database.withConnection { conn in
                    let onWait = { logger.info("waiting for the seed lock held by another run") }
                    let load: (any SQLConnection) throws -> [SeedReport] = { conn in
                        let reports = try write(conn, { cancelled.isSet })
                        // A cancel between statements reached no statement: the load stops
                        // here, rolled back, instead of committing after the caller gave up.
                        if cancelled.isSet {
                            throw DatabaseError(.canceled, message: "seed canceled: nothing was written")
                        }
                        return reports
                    }
                    if try SeedLock.isTransactionScoped(on: conn) {
                        // Behind a transaction pooler: lock, history table and load in one
                        // transaction, which keeps one server session.
                        return try Self.transaction(on: conn, attempts: attempts, logger: logger) { conn in
                            try lock.acquire(conn, scope: .transaction, onWait: onWait, isCancelled: { cancelled.isSet })
                            try history.create(conn)
                            return try load(conn)
                        }
                    }
                    try lock.acquire(conn, onWait: onWait, isCancelled: { cancelled.isSet })
                    defer { lock.release(conn) }
                    // DDL, which MySQL commits at once: under the lock, before the transaction.
                    try history.create(conn)
                    return try Self.transaction(on: conn, attempts: attempts, logger: logger, load)
                }
            }
        }
        for report in reports {
            logger.info(dryRun ? "seed counted (dry run)" : "seed applied", metadata: [
                "seed": "\(report.kind)", "file": "\(report.file)", "checksum": "\(report.checksum)",
                "inserted": "\(report.inserted)", "updated": "\(report.updated)",
                "unchanged": "\(report.unchanged)", "deactivated": "\(report.deactivated)",
            ])
        }
        return reports
    }

    /// Runs `body` in one transaction on a connection the caller holds (with its lock),
    /// again after a deadlock, as ``Database/transaction(_:)`` does on a leased one.
    private static func transaction<T>(on conn: any SQLConnection, attempts: Int, logger: Logger,
                                       _ body: (any SQLConnection) throws -> T) throws -> T {
        var attempt = 1
        while true {
            do {
                try conn.beginTransaction()
                let value = try body(conn)
                try conn.commitTransaction()
                return value
            } catch let error as DatabaseError where error.isRetryable && attempt < attempts {
                _ = try? conn.rollbackTransaction()
                logger.debug("seed transaction retried", metadata: ["attempt": "\(attempt)", "error": "\(error)"])
                attempt += 1
                Thread.sleep(forTimeInterval: Double.random(in: 0.001...(0.005 * Double(attempt))))
            } catch {
                _ = try? conn.rollbackTransaction()
                throw error
            }
        }
    }

    /// Every requested file, validated; all problems of all files in one error.
    private func load(_ kinds: [SeedKind]) throws(SeedError) -> [SeedFile] {
        var files: [SeedFile] = []
        var problems: [SeedProblem] = []
        for kind in SeedKind.allCases where kinds.contains(kind) {
            do {
                files.append(try SeedFile.load(kind, directory: directory, directoryLabel: directoryLabel))
            } catch {
                problems += error.problems
            }
        }
        guard problems.isEmpty else { throw SeedError(problems: problems) }
        logger.debug("seed files valid", metadata: [
            "files": "\(files.map { "\($0.label) (\($0.records.count) rows)" }.joined(separator: ", "))",
        ])
        return files
    }
}
