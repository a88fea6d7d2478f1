internal import CMariaDB
import Foundation
import Logging
import StrataSQL

/// One libmariadb connection, used only on the thread that owns it.
///
/// Statements with binds go out as server-side prepared statements, kept in a
/// per-connection cache keyed by SQL text, so a repeated query costs one round trip;
/// statements without binds use the text protocol.
final class MySQLConnection: SQLConnection {
    /// Prepared statements kept per connection; each costs server memory
    /// (`max_prepared_stmt_count` is 16,382 for the whole server by default).
    static let statementCacheCapacity = 64

    /// The session every connection starts with: see ``MySQLDriver``.
    static let sessionSetup = [
        "SET NAMES utf8mb4 COLLATE utf8mb4_unicode_ci, time_zone = '+00:00', "
            + "sql_mode = 'STRICT_ALL_TABLES,NO_ZERO_DATE,NO_ZERO_IN_DATE,ERROR_FOR_DIVISION_BY_ZERO,NO_ENGINE_SUBSTITUTION,ONLY_FULL_GROUP_BY'",
        "SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED",
    ]

    var dialect: any SQLDialect { mysqlDialect }
    private var mysqlDialect = MySQLDialect()
    private var handle: UnsafeMutablePointer<MYSQL>?
    private let endpoint: MySQLEndpoint
    private let threadID: UInt
    /// Shared by the pool's cancellation handler and ``MySQLSocketWait``.
    private let canceller: MySQLCanceller
    /// The socket as the connection opened, under which ``MySQLSocketWait`` knows it.
    private var socket: Int32 = -1
    private let logger: Logger
    private var statements = MySQLStatementCache(capacity: MySQLConnection.statementCacheCapacity)
    /// Reused by every statement: the rendered text, and the bound parameters.
    private var text = ""
    /// The query `text` was rendered from, so the same statement again is not rendered
    /// again. Kept (a copy that shares the caller's storage, no allocation) only when its
    /// values are small, so a large value is not held after its statement.
    private var rendered: (query: SQLQuery, bindCount: Int)?
    private let parameters = MySQLParameters()
    private(set) var isBroken = false
    /// Whether the server is a node of a Galera cluster (`wsrep_on`), asked once at connect.
    private(set) var isClusterNode = false
    /// Binds go inline over the text protocol, not to prepared statements: on a Galera
    /// node (``MySQLInlineBinds`` says why), or everywhere with
    /// `STRATA_MYSQL_INLINE_BINDS=1` (which runs the test suite's statements that way on
    /// a single server too).
    private var inlinesBinds = ProcessInfo.processInfo.environment["STRATA_MYSQL_INLINE_BINDS"] == "1"

    init(url: DatabaseURL, logger: Logger) throws {
        let endpoint = try MySQLEndpoint(url)
        let handle = try endpoint.open(database: url.database)
        self.endpoint = endpoint
        self.handle = handle
        self.threadID = mysql_thread_id(handle)
        self.logger = logger
        self.noticesTaskCancellation = mysql_get_ssl_cipher(handle) == nil
        self.canceller = MySQLCanceller(endpoint: endpoint, threadID: threadID, logger: logger)
        self.socket = MySQLSocketWait.install(on: handle, connection: ObjectIdentifier(self), canceller: canceller)
        do {
            for sql in Self.sessionSetup { try runText(sql) }
            isClusterNode = try Self.wsrepIsOn(self)
            if isClusterNode {
                mysqlDialect.isClusterNode = true
                inlinesBinds = true
                // A read sees every write the cluster committed before it began, also the
                // ones made through another node: a charge on node 2 right after a grant
                // on node 1 finds the wallet and its balance.
                try runText("SET SESSION wsrep_sync_wait = 1")
            }
        } catch var error as DatabaseError {
            close()
            error.message = "cannot set up the MySQL session at \(endpoint.target): \(error.message)"
            throw error
        }
        logger.debug("connected", metadata: ["server": "\(endpoint.target)", "thread-id": "\(threadID)"])
    }

    deinit { close() }

    func close() {
        statements.removeAll()
        if let handle {
            MySQLSocketWait.remove(socket: socket, connection: ObjectIdentifier(self))
            mysql_close(handle)
        }
        handle = nil
        isBroken = true
    }

    /// A statement run by a task on this thread checks the task's cancellation while
    /// it waits for the server (``MySQLSocketWait``). Not over TLS, where OpenSSL may
    /// read the socket itself, blocking, without libmariadb's wait.
    let noticesTaskCancellation: Bool

    /// Whether `wsrep_on` is on: MariaDB has the variable (off) even without a cluster;
    /// a server without it (MySQL, 1193) is no Galera node.
    private static func wsrepIsOn(_ connection: MySQLConnection) throws -> Bool {
        let result: QueryResult
        do {
            result = try connection.runText("SELECT @@wsrep_on AS wsrep")
        } catch let error as DatabaseError where error.code == "1193" {
            return false
        }
        return switch result.rows.first?["wsrep"] {
        case .int(let n): n != 0
        case .bool(let b): b
        case .string(let s), .decimal(let s): s == "1" || s.uppercased() == "ON"
        default: false
        }
    }

    func makeCanceller() -> (any SQLCanceller)? {
        guard handle != nil else { return nil }
        return canceller
    }

    // MARK: - Statements

    func execute(_ query: SQLQuery) throws -> QueryResult {
        var rows = AllRows()
        let outcome = try run(query, into: &rows)
        return QueryResult(rows: rows.rows, rowsAffected: outcome.rowsAffected, lastInsertID: outcome.lastInsertID)
    }

    /// Builds the first row only: no array of rows for a lookup by key.
    func queryFirst(_ query: SQLQuery) throws -> Row? {
        var first = FirstRow()
        _ = try run(query, into: &first)
        return first.row
    }

    private func run(_ query: SQLQuery, into sink: inout some RowSink) throws -> QueryResult {
        if inlinesBinds {
            var result = try runText(try MySQLInlineBinds.render(query, dialect: mysqlDialect))
            sink.reserve(result.rows.count)
            for row in result.rows { sink.append(row) }
            result.rows = []
            return result
        }
        let bindCount: Int
        if let rendered, query.rendersLike(rendered.query) {
            // The text of the last statement, already in `text`.
            bindCount = rendered.bindCount
        } else {
            self.rendered = nil
            bindCount = try query.render(for: mysqlDialect, into: &text)
            if query.bindsAreSmall() { self.rendered = (query, bindCount) }
        }
        if bindCount == 0 {
            // No binds: the text protocol, whose rows come as one array.
            var result = try runText(text)
            sink.reserve(result.rows.count)
            for row in result.rows { sink.append(row) }
            result.rows = []
            return result
        }
        return try runPrepared(text, query: query, bindCount: bindCount, into: &sink)
    }

    func executeUnprepared(_ sql: String) throws -> QueryResult {
        try runText(sql)
    }

    private func liveHandle(_ sql: String) throws -> UnsafeMutablePointer<MYSQL> {
        guard let handle else {
            throw DatabaseError(.connectionLost, message: "the connection is closed", sql: sql)
        }
        guard !isBroken else {
            throw DatabaseError(.connectionLost, message: "the connection was lost earlier; open a new one", sql: sql)
        }
        return handle
    }

    /// Text protocol: `mysql_real_query`, then every result it produced.
    @discardableResult
    private func runText(_ sql: String) throws -> QueryResult {
        let conn = try liveHandle(sql)
        if mysql_real_query(conn, sql, UInt(sql.utf8.count)) != 0 {
            throw connectionError(conn, sql: sql)
        }
        var result = QueryResult()
        do {
            while true {
                if let res = mysql_store_result(conn) {
                    defer { mysql_free_result(res) }
                    let rows = textRows(res)
                    result.rows += rows
                    result.rowsAffected = Int64(rows.count)
                } else if mysql_field_count(conn) != 0 {
                    throw connectionError(conn, sql: sql)
                } else {
                    result.rowsAffected = Self.count(mysql_affected_rows(conn))
                    let id = mysql_insert_id(conn)
                    if id != 0 { result.lastInsertID = Int64(truncatingIfNeeded: id) }
                }
                let next = mysql_next_result(conn)
                if next == -1 { break }
                if next > 0 { throw connectionError(conn, sql: sql) }
            }
        } catch {
            drainText(conn)
            throw error
        }
        if mysql_warning_count(conn) > 0 { logWarnings(sql: sql) }
        return result
    }

    /// Reads and drops whatever results are still pending, so the connection stays usable.
    private func drainText(_ conn: UnsafeMutablePointer<MYSQL>) {
        guard !isBroken else { return }
        while mysql_more_results(conn) != 0, mysql_next_result(conn) == 0 {
            if let res = mysql_store_result(conn) { mysql_free_result(res) }
        }
    }

    private func textRows(_ res: UnsafeMutablePointer<MYSQL_RES>) -> [Row] {
        let fieldCount = Int(mysql_num_fields(res))
        guard let fields = mysql_fetch_fields(res) else { return [] }
        let columns = (0..<fieldCount).map { MySQLColumn(fields + $0) }
        let index = ColumnIndex(columns.map(\.name))
        var rows: [Row] = []
        rows.reserveCapacity(Int(mysql_num_rows(res)))
        while let row = mysql_fetch_row(res), let lengths = mysql_fetch_lengths(res) {
            var values: [SQLValue] = []
            values.reserveCapacity(fieldCount)
            for (i, column) in columns.enumerated() {
                if let cell = row[i] {
                    values.append(column.decodeText(UnsafeRawBufferPointer(start: cell, count: Int(lengths[i]))))
                } else {
                    values.append(.null)
                }
            }
            rows.append(Row(columns: index, values: values))
        }
        return rows
    }

    /// Binary protocol: a cached prepared statement, executed with the binds.
    /// Returns what the statement did; its rows go to `sink`, and the result's `rows` are empty.
    private func runPrepared(_ sql: String, query: SQLQuery, bindCount: Int, into sink: inout some RowSink) throws -> QueryResult {
        let conn = try liveHandle(sql)
        try parameters.bind(query, count: bindCount)
        defer { parameters.trim() }
        var repreparedOnce = false
        while true {
            guard let statement = try preparedStatement(sql, on: conn) else {
                throw DatabaseError(.other, code: "1295", message: "this statement cannot be prepared, so it cannot take binds", sql: sql)
            }
            guard statement.parameterCount == bindCount else {
                throw DatabaseError(.other, message: "the statement has \(statement.parameterCount) placeholders but \(bindCount) binds", sql: sql)
            }
            let stmt = statement.handle
            if !statement.bindParameters(parameters.binds, count: bindCount) || mysql_stmt_execute(stmt) != 0 {
                let failure = MySQLClientFailure(errno: mysql_stmt_errno(stmt), message: String(cString: mysql_stmt_error(stmt)))
                switch failure.errno {
                case 1615 where !repreparedOnce:
                    // ER_NEED_REPREPARE: the server refused to run it; prepare again and retry.
                    statements.remove(sql)
                    repreparedOnce = true
                    continue
                case 2057:
                    // CR_NEW_STMT_METADATA: the result columns changed since it was prepared
                    // (a table was altered). The statement is unusable; a read is safe to run
                    // again, anything else may already have had its effect.
                    statements.remove(sql)
                    if !repreparedOnce && Self.isReadOnly(sql) {
                        repreparedOnce = true
                        continue
                    }
                    throw DatabaseError(.other, code: "2057", message: "the statement's result columns changed since it was prepared (a table was altered); it has been prepared again, run it again", sql: sql)
                default:
                    if MySQLErrorMapping.breaksConnection(errno: failure.errno) { statements.remove(sql) }
                    throw databaseError(failure, sql: sql)
                }
            }
            let result: QueryResult
            do {
                result = try readResults(statement, into: &sink)
            } catch {
                drainStatement(stmt)
                throw error
            }
            if mysql_stmt_warning_count(stmt) > 0 { logWarnings(sql: sql) }
            return result
        }
    }

    /// Whether `sql` only reads (`SELECT`, `SHOW`), so running it a second time is harmless.
    static func isReadOnly(_ sql: String) -> Bool {
        let head = sql.drop { $0.isWhitespace || $0 == "(" }.prefix(6).lowercased()
        return head == "select" || head.hasPrefix("show")
    }

    /// The cached statement for `sql`, prepared now if needed; `nil` when the server
    /// cannot prepare this kind of statement (1295).
    private func preparedStatement(_ sql: String, on conn: UnsafeMutablePointer<MYSQL>) throws -> MySQLStatement? {
        if let cached = statements.statement(for: sql) { return cached }
        guard let stmt = mysql_stmt_init(conn) else { throw connectionError(conn, sql: sql) }
        if mysql_stmt_prepare(stmt, sql, UInt(sql.utf8.count)) != 0 {
            let failure = MySQLClientFailure(errno: mysql_stmt_errno(stmt), message: String(cString: mysql_stmt_error(stmt)))
            mysql_stmt_close(stmt)
            if failure.errno == 1295 { return nil }
            throw databaseError(failure, sql: sql)
        }
        let statement = MySQLStatement(handle: stmt, sql: sql)
        statements.insert(statement)
        return statement
    }

    /// Every result of an executed statement (a `CALL` may return several): the rows of
    /// each go to `sink`, the returned result carries the counts.
    private func readResults(_ statement: MySQLStatement, into sink: inout some RowSink) throws -> QueryResult {
        let stmt = statement.handle
        var result = QueryResult()
        while true {
            let fieldCount = Int(mysql_stmt_field_count(stmt))
            if fieldCount == 0 {
                result.rowsAffected = Self.count(mysql_stmt_affected_rows(stmt))
                let id = mysql_stmt_insert_id(stmt)
                if id != 0 { result.lastInsertID = Int64(truncatingIfNeeded: id) }
            } else {
                result.rowsAffected = Int64(try readRows(statement, fieldCount: fieldCount, into: &sink))
            }
            guard mysql_stmt_more_results(stmt) != 0 else { break }
            let next = mysql_stmt_next_result(stmt)
            if next == -1 { break }
            if next > 0 { throw statementError(stmt, sql: statement.sql) }
        }
        return result
    }

    /// Fetches the rows of the current result into `sink`; returns how many it has.
    private func readRows(_ statement: MySQLStatement, fieldCount: Int, into sink: inout some RowSink) throws -> Int {
        let stmt = statement.handle
        // The statement's own column definitions, as this execution left them: no copy
        // (`mysql_stmt_result_metadata` would duplicate them into a new result each time).
        guard let fields = mariadb_stmt_fetch_fields(stmt) else { throw statementError(stmt, sql: statement.sql) }
        let layout: MySQLResultLayout
        if let cached = statement.resultLayout, cached.matches(fields, count: fieldCount) {
            layout = cached
        } else {
            layout = MySQLResultLayout(fields, count: fieldCount)
            statement.resultLayout = layout
        }
        let index = layout.index
        let buffers = layout.buffers

        if mysql_stmt_store_result(stmt) != 0 { throw statementError(stmt, sql: statement.sql) }
        defer { mysql_stmt_free_result(stmt) }
        if mysql_stmt_bind_result(stmt, buffers.binds) != 0 { throw statementError(stmt, sql: statement.sql) }

        // Stored whole by `mysql_stmt_store_result`: the count is known before fetching.
        let count = Int(mysql_stmt_num_rows(stmt))
        sink.reserve(count)
        while sink.wantsRow {
            let rc = mysql_stmt_fetch(stmt)
            if rc == MYSQL_NO_DATA { break }
            if rc != 0 && rc != MYSQL_DATA_TRUNCATED { throw statementError(stmt, sql: statement.sql) }
            do {
                sink.append(Row(columns: index, values: try buffers.row(of: stmt)))
            } catch {
                throw databaseError(error, sql: statement.sql)
            }
        }
        return count
    }

    private func drainStatement(_ stmt: UnsafeMutablePointer<MYSQL_STMT>) {
        guard !isBroken else { return }
        mysql_stmt_free_result(stmt)
        while mysql_stmt_more_results(stmt) != 0, mysql_stmt_next_result(stmt) == 0 {
            mysql_stmt_free_result(stmt)
        }
    }

    // MARK: - Errors and warnings

    private func connectionError(_ conn: UnsafeMutablePointer<MYSQL>, sql: String) -> DatabaseError {
        databaseError(MySQLClientFailure(errno: mysql_errno(conn), message: String(cString: mysql_error(conn))), sql: sql)
    }

    private func statementError(_ stmt: UnsafeMutablePointer<MYSQL_STMT>, sql: String) -> DatabaseError {
        databaseError(MySQLClientFailure(errno: mysql_stmt_errno(stmt), message: String(cString: mysql_stmt_error(stmt))), sql: sql)
    }

    /// Maps an error number, and marks the connection broken when it cannot go on.
    private func databaseError(_ failure: MySQLClientFailure, sql: String) -> DatabaseError {
        if MySQLErrorMapping.breaksConnection(errno: failure.errno) { isBroken = true }
        let message = failure.message.isEmpty ? "MySQL error \(failure.errno)" : failure.message
        return DatabaseError(MySQLErrorMapping.category(errno: failure.errno), code: String(failure.errno),
                             message: message, sql: sql)
    }

    /// Logs the warnings of the last statement, read with `SHOW WARNINGS` (which does
    /// not clear them and raises none of its own). Only called when the count is non-zero.
    private func logWarnings(sql: String) {
        guard let conn = handle, !isBroken else { return }
        let query = "SHOW WARNINGS"
        guard mysql_real_query(conn, query, UInt(query.utf8.count)) == 0, let res = mysql_store_result(conn) else { return }
        defer { mysql_free_result(res) }
        guard mysql_num_fields(res) >= 3 else { return }
        let statement = sql.count > 500 ? String(sql.prefix(500)) + "…" : sql
        while let row = mysql_fetch_row(res) {
            let level = row[0].map { String(cString: $0) } ?? "Warning"
            let code = row[1].map { String(cString: $0) } ?? ""
            let message = row[2].map { String(cString: $0) } ?? ""
            // Notes ("table already exists" after IF NOT EXISTS) are routine; warnings are not.
            logger.log(level: level == "Note" ? .notice : .warning, "\(message)",
                       metadata: ["code": "\(code)", "level": "\(level)", "sql": "\(statement)"])
        }
    }

    /// libmariadb reports "no count" as `(my_ulonglong)-1`.
    private static func count(_ value: UInt64) -> Int64 {
        value == UInt64.max ? 0 : Int64(truncatingIfNeeded: value)
    }
}

@available(*, unavailable)
extension MySQLConnection: Sendable {}

/// Where a statement's rows go as they are fetched.
private protocol RowSink {
    /// Whether to fetch another row: the rest of a stored result is freed unread.
    var wantsRow: Bool { get }
    mutating func reserve(_ count: Int)
    mutating func append(_ row: Row)
}

/// Every row, for ``MySQLConnection/execute(_:)``.
private struct AllRows: RowSink {
    var rows: [Row] = []
    var wantsRow: Bool { true }
    mutating func reserve(_ count: Int) { rows.reserveCapacity(rows.count + count) }
    mutating func append(_ row: Row) { rows.append(row) }
}

/// The first row only, for ``MySQLConnection/queryFirst(_:)``.
private struct FirstRow: RowSink {
    var row: Row?
    var wantsRow: Bool { row == nil }
    mutating func reserve(_ count: Int) {}
    mutating func append(_ row: Row) { if self.row == nil { self.row = row } }
}
