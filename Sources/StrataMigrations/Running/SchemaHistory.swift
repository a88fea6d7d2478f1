import Foundation
import StrataSQL

/// One row of the history table: what happened to one migration version.
public struct HistoryRecord: Sendable, Hashable {
    /// Where a migration stands.
    public enum State: String, Sendable {
        /// Every statement ran and was recorded.
        case applied
        /// Marked as applied by `baseline`, never run by Strata.
        case baseline
        /// A statement failed; `failedStatement` names it, earlier ones are applied.
        case failed
        /// The run was interrupted (process killed) after `statementsApplied` statements.
        case running
    }

    public var version: MigrationVersion
    public var name: String
    /// SHA-256 of the normalised up file, as it was when applied.
    public var checksum: String
    /// The direction of the run that wrote the row (`down` only while a revert is incomplete).
    public var direction: MigrationDirection
    public var state: State
    public var appliedAt: SQLTimestamp
    public var appliedBy: String
    public var executionMilliseconds: Int64
    public var statementsTotal: Int
    public var statementsApplied: Int
    /// Short checksums of the statements applied so far, in order.
    public var statementChecksums: [String]
    public var error: String?
    /// 1-based index of the statement that failed.
    public var failedStatement: Int?
    public var toolVersion: String
    public var repairedBy: String?
    public var repairedAt: SQLTimestamp?
    /// A statement that commits by itself (DDL) and was running when a run was
    /// interrupted: it may or may not have completed, so nothing resumes until a person
    /// says which (`strata migrate repair V --completed` or `--not-completed`).
    public var uncertainStatement: UncertainStatement?

    /// The statement a run was interrupted in, where the server may have completed it.
    public struct UncertainStatement: Sendable, Hashable {
        /// 1-based index of the statement in its file.
        public var number: Int
        /// The line of the file on which it starts.
        public var line: Int
    }

    /// Whether the migration counts as applied (its schema change is in place).
    public var isApplied: Bool { state == .applied || state == .baseline }
    /// Whether a previous run stopped half-way through it.
    public var isIncomplete: Bool { state == .failed || state == .running }
    /// Whether an up stopped before any of its statements landed: its schema change is
    /// not in place at all, so it counts as not applied (a `down` passes it, and forgets
    /// it when it goes below its version). A statement of unknown outcome is not nothing.
    public var changedNothing: Bool {
        isIncomplete && direction == .up && statementsApplied == 0 && uncertainStatement == nil
    }
}

/// Reads and writes the history table (`strata_schema_history` by default).
///
/// All methods run on the connection they are given, inside whatever transaction the
/// caller has open, so a migration and its row commit together where DDL is transactional.
struct SchemaHistory {
    let table: String
    let dialect: any SQLDialect
    /// Per-statement rows of migrations that run statement by statement.
    let journal: StatementJournal
    /// The lock whose hold every write must confirm in its transaction (a leased lock),
    /// or `nil`: see ``fenced(by:)``.
    private(set) var fence: (any MigrationLock)?

    init(table: String, dialect: any SQLDialect) throws {
        // Validates the configured name once, before any SQL is built with it.
        _ = try dialect.quoteIdentifier(table)
        self.table = table
        self.dialect = dialect
        self.journal = try StatementJournal(history: table, dialect: dialect)
    }

    func exists(_ conn: any SQLConnection) throws -> Bool {
        try Self.tableExists(conn, table, dialect: dialect)
    }

    /// The same history, whose writes go through only while the run holds `lock`, when
    /// it is a leased lock (a session lock cannot be taken over while its session lives).
    func fenced(by lock: (any MigrationLock)?) -> SchemaHistory {
        var copy = self
        copy.fence = lock?.lease == nil ? nil : lock
        return copy
    }

    /// Inside the caller's open transaction, after its writes: refuses them (throws
    /// ``MigrationError/lockLost(_:)``, so the transaction rolls back) when the run no
    /// longer holds its lock.
    func confirmHeld(_ conn: any SQLConnection) throws {
        try fence?.confirmHeld(conn)
    }

    /// Writes of the history and the journal in one transaction, committed only while
    /// the run holds its lock (checked last, so a lease's row is locked only for the commit).
    func transaction<T>(_ conn: any SQLConnection, _ body: () throws -> T) throws -> T {
        try conn.inTransaction {
            let value = try body()
            try confirmHeld(conn)
            return value
        }
    }

    /// A write outside any transaction: with a fence, it gets a transaction of its own
    /// with the check; without one it runs as it is, committing by itself.
    func write<T>(_ conn: any SQLConnection, _ body: () throws -> T) throws -> T {
        guard fence != nil else { return try body() }
        return try transaction(conn, body)
    }

    /// Whether the connection's current schema has a table of that name.
    static func tableExists(_ conn: any SQLConnection, _ table: String, dialect: any SQLDialect) throws -> Bool {
        let rows = try conn.query("""
            SELECT COUNT(*) AS n FROM information_schema.tables
            WHERE table_name = \(table) AND table_schema = \(SQLQuery(unsafeSQL: dialect.currentSchemaExpression))
            """)
        return try rows.first?.decode("n", as: Int64.self) ?? 0 > 0
    }

    /// Creates the table and its journal unless they exist. Asked first, not left to
    /// `IF NOT EXISTS`: on a Galera node even a `CREATE TABLE` that finds its table runs
    /// in total-order isolation on every node, and aborts the transaction another run is
    /// committing there on the same table (its history write fails with 1213).
    func create(_ conn: any SQLConnection) throws {
        guard try !exists(conn) else {
            try journal.create(conn)
            return
        }
        let t = { dialect.columnType($0) }
        let q = try dialect.quoteIdentifier(table)
        let check = try dialect.quoteIdentifier("ck_\(table)_state".prefix(63).description)
        try conn.executeUnprepared("""
            CREATE TABLE IF NOT EXISTS \(q) (
                version \(t(.decimal20)) NOT NULL PRIMARY KEY,
                name \(t(.varchar(255))) NOT NULL,
                checksum \(t(.varchar(64))) NOT NULL,
                direction \(t(.varchar(8))) NOT NULL,
                state \(t(.varchar(16))) NOT NULL,
                applied_at \(t(.timestamp)) NOT NULL,
                applied_by \(t(.varchar(255))) NOT NULL,
                execution_ms \(t(.bigint)) NOT NULL,
                statements_total \(t(.integer)) NOT NULL,
                statements_applied \(t(.integer)) NOT NULL,
                statement_checksums \(t(.longText)) NOT NULL,
                error \(t(.longText)) NULL,
                failed_statement \(t(.integer)) NULL,
                tool_version \(t(.varchar(32))) NOT NULL,
                repaired_by \(t(.varchar(255))) NULL,
                repaired_at \(t(.timestamp)) NULL,
                CONSTRAINT \(check) CHECK (state IN ('applied', 'baseline', 'failed', 'running'))
            )\(dialect.createTableSuffix)
            """)
        try journal.create(conn)
    }

    /// Every row, by version; a migration stopped half-way carries what its journal says.
    func records(_ conn: any SQLConnection) throws -> [HistoryRecord] {
        guard try exists(conn) else { return [] }
        let rows = try conn.query("SELECT * FROM \(identifier: table) ORDER BY version").map(Self.record)
            .sorted { $0.version < $1.version }
        guard rows.contains(where: \.isIncomplete) else { return rows }
        let entries = try journal.entries(conn)
        return rows.map { $0.isIncomplete ? $0.merging(entries[$0.version] ?? []) : $0 }
    }

    func record(_ conn: any SQLConnection, version: MigrationVersion) throws -> HistoryRecord? {
        guard let record = try conn.queryFirst("SELECT * FROM \(identifier: table) WHERE version = \(version.sqlValue)").map(Self.record)
        else { return nil }
        guard record.isIncomplete else { return record }
        return record.merging(try journal.entries(conn)[version] ?? [])
    }

    func insert(_ conn: any SQLConnection, _ r: HistoryRecord) throws {
        try conn.execute("""
            INSERT INTO \(identifier: table) (version, name, checksum, direction, state, applied_at, applied_by,
                execution_ms, statements_total, statements_applied, statement_checksums, error, failed_statement,
                tool_version, repaired_by, repaired_at)
            VALUES (\(r.version.sqlValue), \(r.name), \(r.checksum), \(r.direction.rawValue), \(r.state.rawValue),
                \(r.appliedAt), \(r.appliedBy), \(r.executionMilliseconds), \(r.statementsTotal),
                \(r.statementsApplied), \(r.statementChecksums.joined(separator: ",")), \(r.error),
                \(r.failedStatement), \(r.toolVersion), \(r.repairedBy), \(r.repairedAt))
            """)
    }

    func update(_ conn: any SQLConnection, _ r: HistoryRecord) throws {
        try conn.execute("""
            UPDATE \(identifier: table) SET name = \(r.name), checksum = \(r.checksum),
                direction = \(r.direction.rawValue), state = \(r.state.rawValue), applied_at = \(r.appliedAt),
                applied_by = \(r.appliedBy), execution_ms = \(r.executionMilliseconds),
                statements_total = \(r.statementsTotal), statements_applied = \(r.statementsApplied),
                statement_checksums = \(r.statementChecksums.joined(separator: ",")), error = \(r.error),
                failed_statement = \(r.failedStatement), tool_version = \(r.toolVersion),
                repaired_by = \(r.repairedBy), repaired_at = \(r.repairedAt)
            WHERE version = \(r.version.sqlValue)
            """)
    }

    func delete(_ conn: any SQLConnection, version: MigrationVersion) throws {
        try conn.execute("DELETE FROM \(identifier: table) WHERE version = \(version.sqlValue)")
    }

    private static func record(_ row: Row) throws -> HistoryRecord {
        let versionText: String = try row.decode("version")
        guard let version = MigrationVersion(versionText) else {
            throw RowDecodingError(column: "version", message: "'\(versionText)' is not a migration version")
        }
        let checksums: String = try row.decode("statement_checksums")
        return HistoryRecord(
            version: version,
            name: try row.decode("name"),
            checksum: try row.decode("checksum"),
            direction: MigrationDirection(rawValue: try row.decode("direction")) ?? .up,
            state: HistoryRecord.State(rawValue: try row.decode("state")) ?? .failed,
            appliedAt: try row.decode("applied_at"),
            appliedBy: try row.decode("applied_by"),
            executionMilliseconds: try row.decode("execution_ms"),
            statementsTotal: try row.decode("statements_total"),
            statementsApplied: try row.decode("statements_applied"),
            statementChecksums: checksums.isEmpty ? [] : checksums.split(separator: ",").map(String.init),
            error: try row.decode("error"),
            failedStatement: try row.decode("failed_statement"),
            toolVersion: try row.decode("tool_version"),
            repairedBy: try row.decode("repaired_by"),
            repairedAt: try row.decode("repaired_at"))
    }
}

extension HistoryRecord {
    /// The record as its journal tells it: the statements applied, with their checksums,
    /// and the statement that was running when the run stopped, if it commits by itself.
    ///
    /// A record written before the journal existed has no rows and stays as it is.
    func merging(_ entries: [StatementJournal.Entry]) -> HistoryRecord {
        guard !entries.isEmpty else { return self }
        var record = self
        var checksums: [String] = []
        for e in entries where e.state == .applied && e.statement == checksums.count + 1 {
            checksums.append(e.checksum)
        }
        record.statementChecksums = checksums
        record.statementsApplied = checksums.count
        if let started = entries.first(where: { $0.state == .started }) {
            record.uncertainStatement = UncertainStatement(number: started.statement, line: started.line)
        }
        return record
    }
}

extension MigrationVersion {
    /// Versions travel as exact decimals: up to 20 digits do not fit an Int64.
    var sqlValue: SQLValue { .decimal(description) }
}
