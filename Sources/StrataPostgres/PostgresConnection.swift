internal import CLibPQ
import Foundation
import Logging
import StrataSQL

/// One libpq connection. Used only on the thread that leased it.
final class PostgresConnection: SQLConnection {
    let dialect: any SQLDialect = PostgresDialect()
    private var handle: OpaquePointer?
    private let noticeSink: NoticeSink
    var isBroken = false
    /// Prepared statements by SQL text and parameter types; `nil` when the URL turned the
    /// cache off or the connection goes through a pooler.
    private var statements: [StatementKey: PreparedStatement]?
    private var statementsPrepared = 0
    /// The column index of each prepared statement's last result, by statement name.
    private var statementColumns: [String: ColumnIndex] = [:]
    /// `BEGIN` promised by ``beginTransaction()`` and not sent yet: it goes out in one
    /// pipeline with the next prepared statement, or on its own before anything else.
    private var beginPending = false
    /// Statements of the open transaction held back by ``executeDeferred(_:)``: they go
    /// out in one pipeline with the next statement or with `COMMIT`.
    private var deferred: [PostgresStatement] = []
    /// Whether the connection goes through a transaction pooler: declared in the URL
    /// (`pooler=transaction`) or found at connect (``behindPooler(_:)``).
    private let throughPooler: Bool
    /// Whether a statement runs now, for ``PostgresCanceller``.
    private let watch = PostgresStatementWatch()
    static let statementCacheLimit = 256
    /// A prepared statement is prepared again after this many runs, then after 4 times
    /// as many each time (``PreparedStatement``).
    static let firstReplan = 64

    /// A statement prepared on this connection, and when it is prepared again.
    ///
    /// PostgreSQL plans a prepared statement for its parameters five times, then settles
    /// on one generic plan, made from what it knows of the tables at that moment, and
    /// keeps it until an `ANALYZE` or DDL invalidates it. Prepared on a young database, a
    /// statement keeps a plan for its tiny tables: a sequential scan of
    /// `credit_transactions` in the charge's lock, which `strata serve` went on running
    /// for every charge while the ledger grew to 60,000 rows, until autovacuum's first
    /// `ANALYZE` came (3 rounds of `scripts/bench http` at 609–966 charges/s against
    /// 2,195–3,075 after). Preparing it again after 64, 256, 1,024 … runs plans it anew
    /// for the tables as they are then (PostgreSQL reads a table's size when it plans),
    /// at a cost that falls with every round: about a dozen times in ten million runs.
    struct PreparedStatement {
        var name: String
        var runs = 0
        var replanAt = PostgresConnection.firstReplan

        /// Counts a run; `false` once the statement is due to be prepared again.
        mutating func use() -> Bool {
            runs += 1
            return runs < replanAt
        }
    }

    private struct StatementKey: Hashable {
        var sql: String
        var types: [UInt32]
    }

    init(url: DatabaseURL, logger: Logger) throws {
        var params: [(String, String)] = [
            ("host", url.socket ?? url.host),
            ("port", String(url.effectivePort)),
            ("dbname", url.database),
            ("connect_timeout", String(max(2, url.connectTimeout))),
            ("client_encoding", "UTF8"),
            ("application_name", "strata"),
            // Times are UTC on the wire, so text results parse without guessing. The server
            // checks every 2 s that the client is still there, so a killed process's
            // transaction (and its migration lock) ends at once, not when its query would.
            ("options", "-c TimeZone=UTC -c DateStyle=ISO -c IntervalStyle=iso_8601 -c extra_float_digits=3 -c client_connection_check_interval=2000"),
        ]
        if let user = url.user { params.append(("user", user)) }
        if let password = url.password { params.append(("password", password)) }
        if let sslMode = url.sslMode { params.append(("sslmode", sslMode)) }
        var cacheStatements = true
        var pooler = false
        for (k, v) in url.parameters {
            if k == "statement_cache" {
                switch v.lowercased() {
                case "on", "true", "1": cacheStatements = true
                case "off", "false", "0": cacheStatements = false
                default:
                    throw DatabaseError(.invalidURL, message: "invalid statement_cache '\(v)' in database URL: expected on or off")
                }
                continue
            }
            if k == "pooler" {
                switch v.lowercased() {
                case "transaction": pooler = true
                case "none": pooler = false
                default:
                    throw DatabaseError(.invalidURL, message: "invalid pooler '\(v)' in database URL: expected transaction or none")
                }
                continue
            }
            params.append((k, v))
        }

        let conn: OpaquePointer? = withCStrings(params.map(\.0)) { keys in
            withCStrings(params.map(\.1)) { values in
                PQconnectdbParams(keys, values, 0)
            }
        }
        guard let conn else {
            throw DatabaseError(.other, message: "cannot connect to \(url.redactedTarget): out of memory")
        }
        guard PQstatus(conn) == CONNECTION_OK else {
            let message = String(cString: PQerrorMessage(conn))
            PQfinish(conn)
            throw Self.connectError(message, url: url)
        }
        if let reason = Self.unreadableSettings(conn) {
            PQfinish(conn)
            throw DatabaseError(.other, message: "cannot use \(url.redactedTarget): \(reason)")
        }
        if !pooler {
            guard let found = Self.behindPooler(conn) else {
                let message = String(cString: PQerrorMessage(conn))
                PQfinish(conn)
                throw Self.connectError(message, url: url)
            }
            pooler = found
        }
        // A named statement prepared through a transaction pooler lands on one server
        // connection and is missing (or already there) on the next: a pooler, declared
        // or found, turns the cache off.
        statements = cacheStatements && !pooler ? [:] : nil
        throughPooler = pooler
        handle = conn
        noticeSink = NoticeSink(logger: logger)
        PQsetNoticeReceiver(conn, { context, result in
            guard let context, let result else { return }
            let sink = Unmanaged<NoticeSink>.fromOpaque(context).takeUnretainedValue()
            sink.receive(result)
        }, Unmanaged.passUnretained(noticeSink).toOpaque())
    }

    deinit { close() }

    /// Why the session's settings would make its text results unreadable, or `nil`.
    ///
    /// Strata asks for `DateStyle=ISO` in the startup packet's `options`, and parses
    /// dates and times as ISO. A transaction pooler does not pass `options` on (PgBouncer
    /// ignores it), so behind one the session has the server's or the database's
    /// DateStyle: one in `SQL`, `Postgres` or `German` style would turn every timestamp
    /// into text that is not read back, after writes had been made. The server reports
    /// the setting at connect (libpq's `PQparameterStatus`, which PgBouncer relays), so
    /// such a session is refused before it runs anything. The time zone needs no check:
    /// timestamps go out and come back with their offset.
    static func unreadableSettings(_ conn: OpaquePointer) -> String? {
        guard let raw = PQparameterStatus(conn, "DateStyle") else { return nil }
        let dateStyle = String(cString: raw)
        guard !dateStyle.uppercased().hasPrefix("ISO") else { return nil }
        return "the session's DateStyle is '\(dateStyle)', and Strata reads dates in ISO (a transaction pooler does not pass on the DateStyle=ISO it asks for): set it for the database (ALTER DATABASE ... SET datestyle = 'ISO, MDY') or the server"
    }

    func close() {
        if let handle { PQfinish(handle) }
        handle = nil
        isBroken = true
    }

    /// A transaction pooler when the URL declares one or the connection found one at
    /// connect (``behindPooler(_:)``), else a single server.
    func topology() throws -> ConnectionTopology {
        throughPooler ? .transactionPooler : .singleServer
    }

    /// Whether `conn` goes through a pooler, asked once at connect; `nil` when the
    /// question failed (the connection is then unusable).
    ///
    /// libpq's `PQbackendPID` is the pid in the BackendKeyData the other end sent at
    /// startup, which PgBouncer makes up, while `pg_backend_pid()` is the pid of the
    /// server process that runs the query. On a direct connection the two are the same.
    /// Asked at connect rather than when a lock is chosen, so that a URL that does not
    /// declare its pooler still gets its statement cache turned off: behind PgBouncer a
    /// named statement fails with 42P05 or 26000 on the next server connection.
    static func behindPooler(_ conn: OpaquePointer) -> Bool? {
        guard let result = PQexec(conn, "SELECT pg_backend_pid()") else { return nil }
        defer { PQclear(result) }
        guard PQresultStatus(result) == PGRES_TUPLES_OK, PQntuples(result) == 1,
              let text = PQgetvalue(result, 0, 0), let serverPID = Int32(String(cString: text)) else { return nil }
        return serverPID != PQbackendPID(conn)
    }

    func makeCanceller() -> (any SQLCanceller)? {
        guard let handle, let cancel = PQgetCancel(handle) else { return nil }
        return PostgresCanceller(cancel, watch: watch)
    }

    func execute(_ query: SQLQuery) throws -> QueryResult {
        let (sql, binds) = try query.render(for: dialect)
        // Only statements with binds are prepared: they are the ones an application
        // repeats; DDL and one-off statements go out unnamed.
        return try watch.running { try executeParams(sql, binds: binds, prepare: !binds.isEmpty) }
    }

    func executeUnprepared(_ sql: String) throws -> QueryResult {
        let conn = try liveHandle(sql)
        return try watch.running {
            try sendPending(conn)
            return try consume(PQexec(conn, sql), sql: sql)
        }
    }

    func beginTransaction() throws {
        _ = try liveHandle("BEGIN")
        guard !beginPending else {
            throw DatabaseError(.other, message: "a transaction is already starting on this connection", sql: "BEGIN")
        }
        beginPending = true
    }

    /// Holds a statement with binds of the open transaction back, to send it with the
    /// next statement or with `COMMIT`: a prepared one, or with the statement cache off
    /// (behind a transaction pooler) an unnamed one; anything else runs at once.
    func executeDeferred(_ query: SQLQuery) throws {
        let (sql, binds) = try query.render(for: dialect)
        let conn = try liveHandle(sql)
        let encoded = binds.map(PostgresBind.init)
        let inTransaction = beginPending || PQtransactionStatus(conn) == PQTRANS_INTRANS
        guard inTransaction, !binds.isEmpty, let statement = pipelined(sql, encoded) else {
            _ = try execute(query)
            return
        }
        deferred.append(statement)
    }

    /// `sql` as it can go out in a pipeline: its prepared statement, or unnamed when the
    /// statement cache is off; `nil` for one still to be prepared (that runs on its own).
    private func pipelined(_ sql: String, _ binds: [PostgresBind]) -> PostgresStatement? {
        guard statements != nil else { return PostgresStatement(sql: sql, preparedName: nil, binds: binds) }
        let key = StatementKey(sql: sql, types: binds.map(\.oid))
        // One due to be prepared again runs on its own, through `preparedStatement`.
        guard let name = statements?[key]?.name, statements?[key]?.use() == true else { return nil }
        return PostgresStatement(sql: sql, preparedName: name, binds: binds)
    }

    func commitTransaction() throws {
        let conn = try liveHandle("COMMIT")
        try watch.running { try commitPending(conn) }
    }

    private func commitPending(_ conn: OpaquePointer) throws {
        if deferred.isEmpty {
            // A transaction that ran no statement was never begun on the server.
            if beginPending { beginPending = false; return }
            _ = try consume(PQexec(conn, "COMMIT"), sql: "COMMIT")
            return
        }
        _ = try runPending(conn, then: .command("COMMIT"))
    }

    func rollbackTransaction() throws {
        deferred.removeAll()
        if beginPending { beginPending = false; return }
        _ = try executeUnprepared("ROLLBACK")
    }

    /// Sends a promised `BEGIN` and the deferred statements, when the next statement
    /// cannot go out with them.
    private func sendPending(_ conn: OpaquePointer) throws {
        if deferred.isEmpty {
            guard beginPending else { return }
            beginPending = false
            _ = try consume(PQexec(conn, "BEGIN"), sql: "BEGIN")
            return
        }
        _ = try runPending(conn, then: nil)
    }

    /// Runs the pending `BEGIN`, the deferred statements and `last` in one pipeline;
    /// throws the first error, else returns `last`'s result.
    private func runPending(_ conn: OpaquePointer, then last: PostgresStatement?) throws -> QueryResult {
        var steps = beginPending ? [PostgresStatement.command("BEGIN")] : []
        steps += deferred
        if let last { steps.append(last) }
        beginPending = false
        deferred.removeAll()
        let results = try PostgresPipeline.run(steps, on: conn, connection: self)
        for result in results { _ = try result.get() }
        return try results.last?.get() ?? QueryResult()
    }

    private func liveHandle(_ sql: String) throws -> OpaquePointer {
        guard let handle, !isBroken else {
            throw DatabaseError(.connectionLost, message: "the connection is closed", sql: sql)
        }
        return handle
    }

    private func executeParams(_ sql: String, binds: [SQLValue], prepare: Bool) throws -> QueryResult {
        let conn = try liveHandle(sql)
        let encoded = binds.map(PostgresBind.init)
        var types = encoded.map(\.oid)
        let key = StatementKey(sql: sql, types: types)
        if prepare, beginPending || !deferred.isEmpty, let statement = pipelined(sql, encoded) {
            return try runPending(conn, then: statement)
        }
        try sendPending(conn)
        if prepare, let name = try preparedStatement(conn, key) {
            let result = PostgresStatement(sql: sql, preparedName: name, binds: encoded).withParameters {
                PQexecPrepared(conn, name, $0, $1, $2, $3, 0)
            }
            do {
                return try consume(result, sql: sql, statement: name)
            } catch let error as DatabaseError where error.code == "0A000" {
                // "cached plan must not change result type": DDL changed a table under a
                // `SELECT *`. The statement is forgotten; outside a transaction it runs
                // again at once, unnamed. (Inside one the transaction is already aborted.)
                statements?[key] = nil
                statementColumns[name] = nil
                guard PQtransactionStatus(conn) == PQTRANS_IDLE else { throw error }
            }
        }
        let result = PostgresStatement(sql: sql, preparedName: nil, binds: encoded).withParameters {
            PQexecParams(conn, sql, $0, &types, $1, $2, $3, 0)
        }
        return try consume(result, sql: sql)
    }

    /// The name of `key`'s prepared statement, preparing it on first use; `nil` when the
    /// cache is off or full. A statement the server refuses throws its error, as running
    /// it would.
    private func preparedStatement(_ conn: OpaquePointer, _ key: StatementKey) throws -> String? {
        guard let cached = statements else { return nil }
        var replanAt = Self.firstReplan
        if var entry = cached[key] {
            if entry.use() {
                statements?[key] = entry
                return entry.name
            }
            // Due: dropped on the server, and prepared again below under a new name. The
            // name is ours (`strata_N`), never a value. Forgotten only once the server
            // dropped it: a failed DEALLOCATE leaves the entry due, for the next run.
            let deallocate = "DEALLOCATE \(entry.name)"
            _ = try consume(PQexec(conn, deallocate), sql: deallocate)
            statements?[key] = nil
            statementColumns[entry.name] = nil
            replanAt = entry.replanAt.multipliedReportingOverflow(by: 4).overflow ? Int.max : entry.replanAt * 4
        } else if cached.count >= Self.statementCacheLimit {
            return nil
        }
        statementsPrepared += 1
        let name = "strata_\(statementsPrepared)"
        var types = key.types
        _ = try consume(PQprepare(conn, name, key.sql, Int32(types.count), &types), sql: key.sql)
        statements?[key] = PreparedStatement(name: name, runs: 1, replanAt: replanAt)
        return name
    }

    /// Reads a result into rows, or turns it into a ``DatabaseError``; frees it either way.
    func consume(_ result: OpaquePointer?, sql: String, statement: String? = nil) throws -> QueryResult {
        guard let result else {
            throw failure(message: handle.map { String(cString: PQerrorMessage($0)) } ?? "no result", sql: sql)
        }
        defer { PQclear(result) }
        let status = PQresultStatus(result)
        switch status {
        case PGRES_TUPLES_OK, PGRES_SINGLE_TUPLE:
            return QueryResult(rows: rows(of: result, statement: statement), rowsAffected: Int64(PQntuples(result)))
        case PGRES_COMMAND_OK, PGRES_EMPTY_QUERY:
            let tuples = String(cString: PQcmdTuples(result))
            return QueryResult(rowsAffected: Int64(tuples) ?? 0)
        case PGRES_COPY_IN, PGRES_COPY_OUT, PGRES_COPY_BOTH:
            // COPY needs a streaming API this driver does not offer; end it cleanly.
            isBroken = true
            throw DatabaseError(.other, message: "COPY is not supported through this driver", sql: sql)
        default:
            throw resultError(result, sql: sql)
        }
    }

    private func resultError(_ result: OpaquePointer, sql: String) -> DatabaseError {
        func field(_ code: Character) -> String? {
            guard let p = PQresultErrorField(result, Int32(code.asciiValue!)) else { return nil }
            return String(cString: p)
        }
        let sqlState = field("C")
        var message = field("M") ?? String(cString: PQresultErrorMessage(result))
        if let detail = field("D") { message += " (\(detail))" }
        if let handle, PQstatus(handle) != CONNECTION_OK { isBroken = true }
        if let sqlState {
            return DatabaseError(PostgresErrorMapping.category(sqlState: sqlState, message: message),
                                 code: sqlState, message: message, sql: sql)
        }
        return failure(message: message, sql: sql)
    }

    func failure(message: String, sql: String) -> DatabaseError {
        if let handle, PQstatus(handle) != CONNECTION_OK { isBroken = true }
        let category: DatabaseError.Category = isBroken ? .connectionLost : .other
        return DatabaseError(category, message: message.trimmingCharacters(in: .whitespacesAndNewlines), sql: sql)
    }

    /// The result's rows; a prepared statement's column index is built once and reused.
    private func rows(of result: OpaquePointer, statement: String?) -> [Row] {
        let rowCount = Int(PQntuples(result))
        let fieldCount = Int(PQnfields(result))
        var oids: [UInt32] = []
        oids.reserveCapacity(fieldCount)
        for f in 0..<fieldCount {
            oids.append(UInt32(PQftype(result, Int32(f))))
        }
        let columns: ColumnIndex
        if let statement, let cached = statementColumns[statement], Self.hasColumns(result, cached.names) {
            columns = cached
        } else {
            columns = ColumnIndex((0..<fieldCount).map { String(cString: PQfname(result, Int32($0))) })
            if let statement { statementColumns[statement] = columns }
        }
        var rows: [Row] = []
        rows.reserveCapacity(rowCount)
        for r in 0..<rowCount {
            var values: [SQLValue] = []
            values.reserveCapacity(fieldCount)
            for f in 0..<fieldCount {
                if PQgetisnull(result, Int32(r), Int32(f)) == 1 {
                    values.append(.null)
                    continue
                }
                let length = Int(PQgetlength(result, Int32(r), Int32(f)))
                let raw = UnsafeRawBufferPointer(start: PQgetvalue(result, Int32(r), Int32(f)), count: length)
                values.append(PostgresTextDecoder.decode(raw, oid: oids[f]))
            }
            rows.append(Row(columns: columns, values: values))
        }
        return rows
    }

    /// Whether the result's columns carry exactly these names, in this order.
    private static func hasColumns(_ result: OpaquePointer, _ names: [String]) -> Bool {
        guard Int(PQnfields(result)) == names.count else { return false }
        for (f, name) in names.enumerated() {
            guard let field = PQfname(result, Int32(f)) else { return false }
            let bytes = UnsafeRawBufferPointer(start: field, count: strlen(field))
            guard name.utf8.elementsEqual(bytes) else { return false }
        }
        return true
    }

    private static func connectError(_ raw: String, url: DatabaseURL) -> DatabaseError {
        // libpq prefixes "connection to server at … failed:" and may report several
        // addresses; keep the last line that says what went wrong.
        let lines = raw.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        var reason = lines.last ?? "unknown error"
        if let range = reason.range(of: "failed: ") { reason = String(reason[range.upperBound...]) }
        let lower = raw.lowercased()
        let category: DatabaseError.Category
        let code: String?
        if lower.contains("password authentication failed") || lower.contains("no password supplied")
            || lower.contains("authentication failed") || lower.contains("no pg_hba.conf entry") {
            category = .authentication; code = "28P01"
        } else if lower.contains("role \"") && lower.contains("does not exist") {
            // An unknown user is refused at login like a wrong password (SQLSTATE 28000).
            category = .authentication; code = "28000"
        } else if lower.contains("does not exist") && lower.contains("database") {
            category = .unknownDatabase; code = "3D000"
        } else if lower.contains("connection refused") || lower.contains("no such file or directory") {
            category = .connectionRefused; code = nil
        } else if lower.contains("the database system is shutting down") || lower.contains("the database system is starting up") {
            category = .connectionRefused; code = "57P03"
        } else if lower.contains("server closed the connection unexpectedly") {
            // Hung up on before the timeout, as a server that is going away does. Nothing ran.
            category = .connectionRefused; code = nil
            reason = "the server closed the connection during the handshake"
        } else if lower.contains("timeout expired") || lower.contains("timed out") {
            category = .timeout; code = nil
            reason = "no answer within \(max(2, url.connectTimeout)) s (connect_timeout)"
        } else {
            category = .other; code = nil
        }
        return DatabaseError(category, code: code, message: "cannot connect to \(url.redactedTarget): \(reason)")
    }
}

@available(*, unavailable)
extension PostgresConnection: Sendable {}

/// Calls `body` with a NULL-terminated array of C strings that live for the call.
private func withCStrings<R>(_ strings: [String], _ body: (UnsafePointer<UnsafePointer<CChar>?>) -> R) -> R {
    let copies = strings.map { strdup($0) }
    defer { copies.forEach { free($0) } }
    let pointers = copies.map { UnsafePointer($0) } + [nil]
    return pointers.withUnsafeBufferPointer { body($0.baseAddress!) }
}
