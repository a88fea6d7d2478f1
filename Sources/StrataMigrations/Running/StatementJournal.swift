import Foundation
import StrataSQL

/// One row a statement in the journal of a migration that runs statement by statement.
///
/// Where a migration cannot commit with its history row in one transaction (MySQL DDL,
/// `-- strata:no-transaction`), the journal says exactly which statements landed:
///
/// - statements that are not DDL run in a transaction together with the journal rows
///   that record them, so each is either applied and recorded or neither (the server
///   rolls back a transaction whose client died);
/// - a statement that commits by itself gets a `started` row before it is sent, and the
///   row becomes `applied` once the server answers. A `started` row found later means
///   a run was interrupted while that statement ran: it may or may not have completed,
///   and Strata stops instead of guessing.
///
/// Recording a statement writes one small row, whatever its index, so a file of 100,000
/// statements costs no more per statement than a file of ten. The rows of a migration
/// are deleted when it finishes (its history row then keeps the statements' checksums).
struct StatementJournal {
    enum State: String {
        case started, applied
    }

    struct Entry: Hashable {
        var statement: Int
        var line: Int
        var checksum: String
        var state: State
    }

    let table: String
    let dialect: any SQLDialect

    /// The journal of history table `history`: its name with `_statements` appended.
    static func tableName(forHistory history: String) -> String { history + "_statements" }

    init(history: String, dialect: any SQLDialect) throws {
        let name = Self.tableName(forHistory: history)
        do {
            _ = try dialect.quoteIdentifier(name)
        } catch {
            throw DatabaseError(.invalidIdentifier, message: "history table name '\(history)' is too long: its statement journal '\(name)' must fit in 63 characters")
        }
        self.table = name
        self.dialect = dialect
    }

    /// Creates the table unless it exists (asked first: see ``SchemaHistory/create(_:)``).
    func create(_ conn: any SQLConnection) throws {
        guard try !exists(conn) else { return }
        let t = { dialect.columnType($0) }
        let q = try dialect.quoteIdentifier(table)
        let check = try dialect.quoteIdentifier("ck_\(table)_state".prefix(63).description)
        try conn.executeUnprepared("""
            CREATE TABLE IF NOT EXISTS \(q) (
                version \(t(.decimal20)) NOT NULL,
                statement \(t(.integer)) NOT NULL,
                line \(t(.integer)) NOT NULL,
                checksum \(t(.varchar(16))) NOT NULL,
                state \(t(.varchar(16))) NOT NULL,
                recorded_at \(t(.timestamp)) NOT NULL,
                PRIMARY KEY (version, statement),
                CONSTRAINT \(check) CHECK (state IN ('started', 'applied'))
            )\(dialect.createTableSuffix)
            """)
    }

    func exists(_ conn: any SQLConnection) throws -> Bool {
        try SchemaHistory.tableExists(conn, table, dialect: dialect)
    }

    /// Every row of every version that has some, by version and statement.
    func entries(_ conn: any SQLConnection) throws -> [MigrationVersion: [Entry]] {
        guard try exists(conn) else { return [:] }
        var result: [MigrationVersion: [Entry]] = [:]
        for row in try conn.query("SELECT version, statement, line, checksum, state FROM \(identifier: table) ORDER BY version, statement") {
            let text: String = try row.decode("version")
            guard let version = MigrationVersion(text) else {
                throw RowDecodingError(column: "version", message: "'\(text)' is not a migration version")
            }
            result[version, default: []].append(Entry(
                statement: Int(try row.decode("statement", as: Int64.self)),
                line: Int(try row.decode("line", as: Int64.self)),
                checksum: try row.decode("checksum"),
                state: State(rawValue: try row.decode("state")) ?? .started))
        }
        return result
    }

    /// Records statements as applied: one insert for all of them.
    func recordApplied(_ conn: any SQLConnection, version: MigrationVersion, _ entries: [Entry]) throws {
        try write(conn, version: version, entries.map { var e = $0; e.state = .applied; return e })
    }

    /// Writes rows in the state each entry gives, in one statement per 1,000 rows: a new
    /// row is inserted, an existing one (a `started` statement that has now landed) takes
    /// the new state. So marking statement k applied and announcing statement k + 1 is one
    /// round trip.
    func write(_ conn: any SQLConnection, version: MigrationVersion, _ entries: [Entry]) throws {
        guard !entries.isEmpty else { return }
        let now = SQLTimestamp(Date())
        let upsert = try dialect.upsertClause(conflictColumns: ["version", "statement"], updating: ["state", "recorded_at"])
        // At most 1,000 rows of 6 binds per insert: far below both servers' bind limits.
        for chunk in stride(from: 0, to: entries.count, by: 1000) {
            var query: SQLQuery = "INSERT INTO \(identifier: table) (version, statement, line, checksum, state, recorded_at) VALUES "
            for (i, e) in entries[chunk..<min(chunk + 1000, entries.count)].enumerated() {
                if i > 0 { query.append(", ") }
                query.append("(\(version.sqlValue), \(e.statement), \(e.line), \(e.checksum), \(e.state.rawValue), \(now))")
            }
            query.append(" \(unsafeRaw: upsert)")
            try conn.execute(query)
        }
    }

    /// Turns a `started` row into an `applied` one: the server answered.
    func markApplied(_ conn: any SQLConnection, version: MigrationVersion, statement: Int) throws {
        try conn.execute("""
            UPDATE \(identifier: table) SET state = \(State.applied.rawValue), recorded_at = \(SQLTimestamp(Date()))
            WHERE version = \(version.sqlValue) AND statement = \(statement)
            """)
    }

    /// Removes a `started` row: the server refused the statement, so it did not apply.
    func removeStarted(_ conn: any SQLConnection, version: MigrationVersion, statement: Int) throws {
        try conn.execute("""
            DELETE FROM \(identifier: table)
            WHERE version = \(version.sqlValue) AND statement = \(statement) AND state = \(State.started.rawValue)
            """)
    }

    /// Removes the rows of every version the history records as finished (applied or
    /// baselined): an `up` leaves its rows behind when it finishes, and the run clears
    /// them all at its end with this one statement, instead of one delete a migration.
    /// Rows of a finished version are never read (only an incomplete history row merges
    /// its journal), so rows a killed run left behind are harmless until the next run.
    func deleteFinished(_ conn: any SQLConnection, history: String) throws {
        try conn.execute("""
            DELETE FROM \(identifier: table)
            WHERE version IN (SELECT h.version FROM \(identifier: history) h WHERE h.state IN ('applied', 'baseline'))
            """)
    }

    /// Removes every row of a version, or only those from `statement` on.
    func delete(_ conn: any SQLConnection, version: MigrationVersion, fromStatement statement: Int = 1) throws {
        try conn.execute("DELETE FROM \(identifier: table) WHERE version = \(version.sqlValue) AND statement >= \(statement)")
    }
}
