import Foundation
import Logging
import StrataSQL

/// Options of a ``Migrator``.
public struct MigratorOptions: Sendable {
    /// The history table; validated and quoted.
    public var historyTable = "strata_schema_history"
    /// How long to wait for another run's lock.
    public var lockTimeout: Duration = .seconds(60)
    /// Which lock a run takes (``MigrationLockChoice`` decides `auto`).
    public var lockMode: MigrationLockMode = .auto
    /// The table lock's lease: how long a run that stopped renewing keeps others out.
    public var lockLease: Duration = TableMigrationLock.defaultLease
    /// `false` takes no lock: the same as ``lockMode`` `.none`.
    public var useLock: Bool {
        get { lockMode != .none }
        set { lockMode = newValue ? (lockMode == .none ? .auto : lockMode) : .none }
    }
    /// Allow applying a pending migration older than the latest applied one.
    public var allowOutOfOrder = false
    /// Who runs the migrations, recorded in the history.
    public var appliedBy = MigratorOptions.defaultAppliedBy
    /// The folder migrations were loaded from, as the user named it, for messages.
    public var directoryLabel = "migrations"

    public init() {}

    /// `user@host`: from `$USER`, else the account of the process.
    public static var defaultAppliedBy: String {
        let env = ProcessInfo.processInfo.environment
        var user = env["USER"] ?? env["LOGNAME"]
        if user == nil, let entry = getpwuid(getuid()), let name = entry.pointee.pw_name {
            user = String(cString: name)
        }
        return "\(user ?? "unknown")@\(ProcessInfo.processInfo.hostName)"
    }
}

/// Something that happened during a run, for progress output.
public enum MigrationEvent: Sendable {
    case waitingForLock
    case started(MigrationStep)
    case finished(MigrationStep, Duration)
}

/// What a run did: the steps it completed, with their times.
public struct MigrationRunReport: Sendable {
    public init() {}
    public var completed: [(step: MigrationStep, duration: Duration)] = []
    public var lockWait: Duration = .zero
    /// Ups that had failed before any statement landed, which a `down` took out of the
    /// history (they are pending again): see ``HistoryRecord/changedNothing``.
    public var forgotten: [HistoryRecord] = []
}

/// Applies, reverts and reports on versioned SQL migrations, on any backend.
///
/// Every command that changes the schema takes the lock first, then reads the history,
/// plans, runs and releases the lock, so several deploy pipelines can run `up` at once
/// and each migration runs exactly once.
///
/// ```swift
/// let set = try MigrationLoader.load(directory: URL(filePath: "migrations"), dialect: .postgres)
/// let migrator = try Migrator(database: db, migrations: set, logger: logger)
/// let report = try await migrator.run(.up())
/// ```
public struct Migrator: Sendable {
    public static let toolVersion = "strata 0.1.0"

    public let database: Database
    public let migrations: MigrationSet
    public let options: MigratorOptions
    let logger: Logger
    let history: SchemaHistory
    /// The lock given to ``init(database:migrations:options:lock:logger:)``, which
    /// replaces the choice of ``MigratorOptions/lockMode`` (`none` still takes none).
    let givenLock: (any MigrationLock)?

    /// - Throws: ``DatabaseError`` `.invalidIdentifier` for a history table name the
    ///   dialect refuses.
    public init(database: Database, migrations: MigrationSet, options: MigratorOptions = MigratorOptions(),
                lock: (any MigrationLock)? = nil, logger: Logger) throws {
        self.database = database
        self.migrations = migrations
        self.options = options
        self.logger = logger
        self.history = try SchemaHistory(table: options.historyTable, dialect: database.dialect)
        self.givenLock = lock
    }

    /// The lock's name: one per database and history table.
    public var lockName: String { "strata:\(database.url.database):\(options.historyTable)" }

    /// The lock a run on `conn` takes, or `nil` for none.
    func chooseLock(_ conn: any SQLConnection) throws -> (any MigrationLock)? {
        if options.lockMode == .none { return nil }
        if let givenLock { return givenLock }
        switch try MigrationLockChoice.kind(for: options.lockMode, on: conn).kind {
        case nil: return nil
        case .session: return SessionMigrationLock(name: lockName)
        case .table:
            return TableMigrationLock(name: lockName, dialect: database.dialect, lease: options.lockLease,
                                      actor: options.appliedBy, logger: logger)
        }
    }

    /// Which lock a run would take here, and why: `--lock` and what the server is.
    public func lockChoice() async throws -> (kind: MigrationLockKind?, reason: String) {
        if options.lockMode != .none, let givenLock { return (givenLock.kind, "given") }
        let mode = options.lockMode
        return try await database.withConnection { try MigrationLockChoice.kind(for: mode, on: $0) }
    }

    /// Who holds the lock of this database and history table, if anyone: the table
    /// lock's row (a run that holds it now, or one that died and left it until its lease
    /// ends), else the server session holding the session lock, where the server tells.
    /// Takes no lock.
    public func lockHolder() async throws -> MigrationLockHolder? {
        let name = lockName
        let dialect = database.dialect
        return try await database.withConnection { conn in
            try TableMigrationLock.holder(conn, name: name, dialect: dialect)
                ?? SessionMigrationLock(name: name).holder(conn)
        }
    }

    /// Removes the table lock of a run that died: refused while its lease runs, unless
    /// `force`. Writes a row to `strata_lock_events` and a log line naming who removed
    /// whose lock.
    ///
    /// - Returns: the lock removed, or `nil` when there was none.
    /// - Throws: ``MigrationError/refused(_:)`` for a lock whose lease has not ended,
    ///   without `force`, or one that changed hands meanwhile.
    public func unlock(force: Bool) async throws -> MigrationLockHolder? {
        let name = lockName
        let dialect = database.dialect
        let by = "\(options.appliedBy) pid \(ProcessInfo.processInfo.processIdentifier)"
        let logger = logger
        return try await database.withConnection { conn in
            guard let holder = try TableMigrationLock.holder(conn, name: name, dialect: dialect) else { return nil }
            if !holder.isExpired && !force {
                throw MigrationError.refused("the migration lock '\(name)' is held by \(holder.summary), whose lease has not ended: it may still run; wait for it, or remove the lock with --force once you know it is gone")
            }
            guard try TableMigrationLock.remove(conn, holder: holder, dialect: dialect, by: by) else {
                throw MigrationError.refused("the migration lock '\(name)' changed hands while it was being removed; look again with `strata migrate status`")
            }
            logger.warning("removed a migration lock", metadata: [
                "lock": "\(name)", "holder": "\(holder.summary)", "by": "\(by)", "forced": "\(!holder.isExpired)",
            ])
            return holder
        }
    }

    func displayPath(_ file: MigrationFile) -> String {
        options.directoryLabel.isEmpty ? file.path : "\(options.directoryLabel)/\(file.path)"
    }

    private func executor(_ history: SchemaHistory) -> MigrationExecutor {
        let label = options.directoryLabel
        return MigrationExecutor(history: history, dialect: database.dialect, appliedBy: options.appliedBy,
                                 toolVersion: Self.toolVersion,
                                 displayPath: { label.isEmpty ? $0.path : "\(label)/\($0.path)" }, logger: logger)
    }

    private func planner(_ records: [HistoryRecord]) -> MigrationPlanner {
        let label = options.directoryLabel
        return MigrationPlanner(migrations: migrations, history: records, allowOutOfOrder: options.allowOutOfOrder,
                                displayPath: { label.isEmpty ? $0.path : "\(label)/\($0.path)" })
    }

    /// The history as recorded, by version.
    ///
    /// - Parameter fromReplica: read it from the database's hot standby when one is
    ///   configured (``Database/withReplicaConnection(_:)``): for a display that
    ///   tolerates the standby's lag, never for a read that decides what to run.
    public func records(fromReplica: Bool = false) async throws -> [HistoryRecord] {
        let history = history
        if fromReplica { return try await database.withReplicaConnection { try history.records($0) } }
        return try await database.withConnection { try history.records($0) }
    }

    /// Files and history side by side. Takes no lock.
    ///
    /// - Parameter fromReplica: read the history from the hot standby, if any (see
    ///   ``records(fromReplica:)``).
    public func status(fromReplica: Bool = false) async throws -> MigrationStatus {
        let records = try await records(fromReplica: fromReplica)
        return MigrationStatus(migrations: migrations, history: records, displayPath: displayPath)
    }

    /// The steps a request would run, without running them. Takes no lock.
    public func plan(_ request: MigrationRequest) async throws -> [MigrationStep] {
        let records = try await records()
        try checkDrift(records)
        return try planner(records).plan(request)
    }

    /// Runs a request under the lock.
    ///
    /// - Parameter progress: called on the connection's thread as each migration starts and ends.
    /// - Throws: ``MigrationError`` (lock timeout, drift, a failed statement, a refused
    ///   request) or ``DatabaseError``.
    @discardableResult
    public func run(_ request: MigrationRequest,
                    progress: @escaping @Sendable (MigrationEvent) -> Void = { _ in }) async throws -> MigrationRunReport {
        try await withLock(progress: progress) { conn, report, isCancelled, history in
            try history.create(conn)
            let records = try history.records(conn)
            try checkDrift(records)
            let planner = planner(records)
            let steps = try planner.plan(request)
            let forgotten = planner.forgottenByDown(request, steps: steps)
            if !forgotten.isEmpty {
                try history.transaction(conn) {
                    for record in forgotten {
                        try history.journal.delete(conn, version: record.version)
                        try history.delete(conn, version: record.version)
                        logger.info("forgot a failed migration that applied nothing", metadata: [
                            "version": "\(record.version)", "name": "\(record.name)",
                        ])
                    }
                }
                report.forgotten = forgotten
            }
            var byVersion = Dictionary(records.map { ($0.version, $0) }, uniquingKeysWith: { a, _ in a })
            for step in steps {
                progress(.started(step))
                if isCancelled() {
                    throw MigrationError.interrupted("canceled before \(step.label) (\(step.direction.rawValue)); \(report.completed.count) migration\(report.completed.count == 1 ? "" : "s") of this run finished")
                }
                let duration = try executor(history).run(step, on: conn, existing: byVersion[step.migration.version],
                                                isCancelled: isCancelled)
                // After a down the row is gone; after an up the next step of this run
                // (redo's up) starts fresh, so only a down needs the record it replaces.
                byVersion[step.migration.version] = nil
                report.completed.append((step, duration))
                progress(.finished(step, duration))
                logger.info("migration \(step.direction.rawValue)", metadata: [
                    "version": "\(step.migration.version)", "name": "\(step.migration.name)",
                    "ms": "\(Int(duration.seconds * 1000))",
                ])
            }
            if steps.contains(where: { $0.direction == .up }) {
                try history.write(conn) { try history.journal.deleteFinished(conn, history: history.table) }
            }
            return report
        }
    }

    /// What a person found out about a statement that was running when a run died.
    public enum UncertainOutcome: Sendable {
        /// It completed: the next run resumes after it.
        case completed
        /// It did not: the next run runs it.
        case notCompleted
    }

    /// Marks a migration that a person fixed by hand: a failed or interrupted `up` becomes
    /// applied, a failed `down` becomes reverted, a changed file's checksum is accepted.
    /// Recorded with who and when.
    ///
    /// With `uncertain`, only settles the statement that was running when a run died
    /// (see ``HistoryRecord/uncertainStatement``): the next `up` or `down` resumes after it
    /// or at it.
    ///
    /// - Returns: what was done, in words.
    public func repair(_ version: MigrationVersion, uncertain: UncertainOutcome? = nil) async throws -> String {
        let by = options.appliedBy
        let migrations = migrations
        return try await withLock { conn, _, _, history in
            guard var record = try history.record(conn, version: version) else {
                throw MigrationError.refused("migration \(version) is not in the history: nothing to repair")
            }
            if let uncertain {
                guard let statement = record.uncertainStatement else {
                    throw MigrationError.refused("migration \(version)_\(record.name) has no statement of unknown outcome (\(record.stateSummary)): nothing to settle")
                }
                record.repairedBy = by
                record.repairedAt = SQLTimestamp(Date())
                record.statementChecksums = []
                record.statementsApplied = uncertain == .completed ? statement.number : statement.number - 1
                try history.transaction(conn) {
                    switch uncertain {
                    case .completed:
                        try history.journal.markApplied(conn, version: version, statement: statement.number)
                    case .notCompleted:
                        try history.journal.removeStarted(conn, version: version, statement: statement.number)
                    }
                    try history.update(conn, record)
                }
                let next = uncertain == .completed ? statement.number + 1 : statement.number
                return "migration \(version)_\(record.name): statement \(statement.number) recorded as \(uncertain == .completed ? "completed" : "not completed") by \(by); `strata migrate \(record.direction.rawValue)` resumes at statement \(next)"
            }
            if record.isIncomplete && record.direction == .down {
                try history.transaction(conn) {
                    try history.delete(conn, version: version)
                    try history.journal.delete(conn, version: version)
                }
                return "migration \(version)_\(record.name): down marked as finished by hand (\(by)); it is now pending"
            }
            guard let m = migrations[version] else {
                throw MigrationError.refused("migration \(version) has no file: restore it before repairing")
            }
            let was = record.stateSummary
            record.state = .applied
            record.direction = .up
            record.checksum = m.up.checksum.hex
            record.statementsTotal = m.up.statements.count
            record.statementsApplied = m.up.statements.count
            record.statementChecksums = m.up.statements.map(MigrationExecutor.statementChecksum)
            record.error = nil
            record.failedStatement = nil
            record.repairedBy = by
            record.repairedAt = SQLTimestamp(Date())
            record.uncertainStatement = nil
            try history.transaction(conn) {
                try history.update(conn, record)
                try history.journal.delete(conn, version: version)
            }
            return "migration \(version)_\(record.name): marked applied by \(by) (was: \(was))"
        }
    }

    /// Records every migration up to `version` as applied without running it: for a
    /// database whose schema existed before Strata managed it.
    public func baseline(_ version: MigrationVersion) async throws -> [MigrationVersion] {
        let by = options.appliedBy
        let migrations = migrations
        return try await withLock { conn, _, _, history in
            try history.create(conn)
            let existing = try history.records(conn)
            guard existing.isEmpty else {
                throw MigrationError.refused("the history already has \(existing.count) entries: baseline only applies to a database Strata has not migrated yet")
            }
            let covered = migrations.migrations.filter { $0.version <= version }
            guard !covered.isEmpty else {
                throw MigrationError.refused("no migration has a version at or below \(version)")
            }
            try history.transaction(conn) {
                for m in covered {
                    try history.insert(conn, HistoryRecord(
                        version: m.version, name: m.name, checksum: m.up.checksum.hex, direction: .up, state: .baseline,
                        appliedAt: SQLTimestamp(Date()), appliedBy: by, executionMilliseconds: 0,
                        statementsTotal: m.up.statements.count, statementsApplied: m.up.statements.count,
                        statementChecksums: m.up.statements.map(MigrationExecutor.statementChecksum), error: nil,
                        failedStatement: nil, toolVersion: Self.toolVersion, repairedBy: nil, repairedAt: nil))
                }
            }
            return covered.map(\.version)
        }
    }

    /// Applied migrations whose files changed or vanished: reasons to refuse running.
    public func drift() async throws -> [String] {
        let status = try await status()
        return status.entries.compactMap { e in
            switch e.state {
            case .changed: e.detail
            case .missing: "migration \(e.version)_\(e.name) " + (e.detail ?? "has no file")
            default: nil
            }
        }
    }

    func checkDrift(_ records: [HistoryRecord]) throws {
        let status = MigrationStatus(migrations: migrations, history: records, displayPath: displayPath)
        let problems = status.entries.compactMap { e -> String? in
            switch e.state {
            case .changed: e.detail.map { "\($0); restore it, add a new migration for the change, or accept it with `strata migrate repair \(e.version)`" }
            case .missing: "migration \(e.version)_\(e.name) " + (e.detail ?? "has no file") + " under \(options.directoryLabel)"
            default: nil
            }
        }
        if let first = problems.first {
            throw MigrationError.drift(problems.count == 1 ? first : "\(first) (and \(problems.count - 1) more: see `strata migrate validate`)")
        }
    }

    /// Holds the lock for the whole of `body`, released on every path.
    ///
    /// `body` runs on one connection under the dialect's ``SQLDialect/migrationSessionSetup``
    /// (the server's own session settings, as its command-line client gets them), and the
    /// connection is closed afterwards rather than handed back to services with that
    /// session. A session lock is held by that connection; a leased lock (the table lock)
    /// lives on a connection of its own, renewed there while `body` runs.
    ///
    /// `body` runs whole on the connection's thread. Its third argument tells whether the
    /// calling task was cancelled meanwhile, or the lease was lost, so it can stop between
    /// statements (a cancel during a statement reaches the server through the pool); its
    /// fourth is the history to write, whose writes confirm the lock is still the run's.
    func withLock<T: Sendable>(progress: @escaping @Sendable (MigrationEvent) -> Void = { _ in },
                               _ body: @escaping @Sendable (any SQLConnection, inout MigrationRunReport, () -> Bool, SchemaHistory) throws -> T) async throws -> T {
        try await CancellationFlag.tracking { cancelled in
            try await locked(progress: progress, isCancelled: { cancelled.isSet }, body)
        }
    }

    private func locked<T: Sendable>(progress: @escaping @Sendable (MigrationEvent) -> Void,
                                     isCancelled: @escaping @Sendable () -> Bool,
                                     _ body: @escaping @Sendable (any SQLConnection, inout MigrationRunReport, () -> Bool, SchemaHistory) throws -> T) async throws -> T {
        let timeout = options.lockTimeout
        let logger = logger
        let database = database
        let history = history
        return try await database.withConnection { [self] conn in
            // The run's session is the migrations' (the dialect's migration session, and
            // whatever the files set: sql_mode, foreign_key_checks, search_path…): the
            // connection is retired after it, so the pool opens a fresh one, set up for
            // the services, when it is next needed.
            defer { conn.close() }
            var report = MigrationRunReport()
            guard let lock = try chooseLock(conn) else {
                for sql in conn.dialect.migrationSessionSetup { try conn.executeUnprepared(sql) }
                return try body(conn, &report, isCancelled, history)
            }
            // A leased lock is taken, renewed and released on a connection of its own:
            // never inside the run's transactions, nor under its session settings.
            var lockConn = lock.lease == nil ? conn : try database.openUnpooledConnection()
            let separate = lockConn !== conn
            defer { if separate { lockConn.close() } }
            let start = ContinuousClock.now
            try lock.acquire(lockConn, timeout: timeout, onWait: {
                logger.info("waiting for the migration lock held by another run", metadata: ["lock": "\(lock.kind.rawValue)"])
                progress(.waitingForLock)
            }, isCancelled: isCancelled)
            report.lockWait = ContinuousClock.now - start
            var keeper: LockLeaseKeeper?
            if let lease = lock.lease {
                keeper = LockLeaseKeeper(lock: lock, lease: lease, connection: lockConn,
                                         reconnect: { try database.openUnpooledConnection() }, logger: logger)
                keeper?.start()
            }
            defer {
                if let keeper { lockConn = keeper.stop() }
                // The run's connection goes first, ending any transaction it left open
                // (with a row lock of the lock table) before the lock row is deleted.
                if separate { conn.close() }
                lock.release(lockConn)
            }
            let lostLease = { keeper?.lost }
            do {
                for sql in conn.dialect.migrationSessionSetup { try conn.executeUnprepared(sql) }
                return try body(conn, &report, { isCancelled() || lostLease() != nil }, history.fenced(by: lock))
            } catch {
                // Stopped because the lease was lost: say that, not "canceled".
                if let lost = lostLease() { throw lost }
                throw error
            }
        }
    }
}
