internal import CLibPQ
import StrataSQL

/// A statement with its encoded binds: a prepared one (by name), or text sent unnamed
/// (with its binds and their types, when it has binds).
struct PostgresStatement {
    var sql: String
    /// The prepared statement's name; `nil` for text.
    var preparedName: String?
    var binds: [PostgresBind]

    /// A command with no binds (`BEGIN`, `COMMIT`).
    static func command(_ sql: String) -> PostgresStatement {
        PostgresStatement(sql: sql, preparedName: nil, binds: [])
    }
}

/// Sends several statements in libpq's pipeline mode, one round trip for all, and reads
/// their results in order.
///
/// After a statement fails, the server skips the rest up to the sync point: their results
/// are errors too, so the first error is the one to report. A `COMMIT` skipped that way
/// leaves the transaction open and failed, for the caller's `ROLLBACK`.
enum PostgresPipeline {
    static func run(_ steps: [PostgresStatement], on conn: OpaquePointer,
                    connection: PostgresConnection) throws -> [Result<QueryResult, any Error>] {
        guard PQenterPipelineMode(conn) == 1 else {
            // Only outside pipeline mode with no result pending, which holds between
            // statements; should it not, run them one by one and stop at the first error.
            var results: [Result<QueryResult, any Error>] = []
            for step in steps {
                let result = Result { try connection.consume(execute(step, on: conn), sql: step.sql, statement: step.preparedName) }
                results.append(result)
                if case .failure = result { break }
            }
            return results
        }
        for step in steps where !send(step, on: conn) {
            let error = connection.failure(message: String(cString: PQerrorMessage(conn)), sql: step.sql)
            leave(conn, connection: connection)
            throw error
        }
        guard PQpipelineSync(conn) == 1 else {
            let error = connection.failure(message: String(cString: PQerrorMessage(conn)), sql: steps.last?.sql ?? "")
            leave(conn, connection: connection)
            throw error
        }
        var results: [Result<QueryResult, any Error>] = []
        results.reserveCapacity(steps.count)
        for step in steps {
            results.append(Result { try connection.consume(PQgetResult(conn), sql: step.sql, statement: step.preparedName) })
            // Each statement's results end with a NULL (anything else would be freed).
            if let extra = PQgetResult(conn) { PQclear(extra) }
        }
        leave(conn, connection: connection)
        return results
    }

    /// Queues one step in pipeline mode; `false` when libpq refused it.
    private static func send(_ step: PostgresStatement, on conn: OpaquePointer) -> Bool {
        step.withParameters { count, values, lengths, formats in
            if let name = step.preparedName {
                return PQsendQueryPrepared(conn, name, count, values, lengths, formats, 0) == 1
            }
            guard count > 0 else { return PQsendQueryParams(conn, step.sql, 0, nil, nil, nil, nil, 0) == 1 }
            var types = step.binds.map(\.oid)
            return PQsendQueryParams(conn, step.sql, count, &types, values, lengths, formats, 0) == 1
        }
    }

    /// Runs one step outside pipeline mode and returns its result.
    private static func execute(_ step: PostgresStatement, on conn: OpaquePointer) -> OpaquePointer? {
        step.withParameters { count, values, lengths, formats in
            if let name = step.preparedName {
                return PQexecPrepared(conn, name, count, values, lengths, formats, 0)
            }
            guard count > 0 else { return PQexec(conn, step.sql) }
            var types = step.binds.map(\.oid)
            return PQexecParams(conn, step.sql, count, &types, values, lengths, formats, 0)
        }
    }

    /// Reads what is left up to the sync point and leaves pipeline mode; a connection
    /// that cannot leave it is broken.
    private static func leave(_ conn: OpaquePointer, connection: PostgresConnection) {
        var rounds = 0
        while PQexitPipelineMode(conn) != 1 {
            rounds += 1
            guard rounds < 16, PQstatus(conn) == CONNECTION_OK else { connection.isBroken = true; return }
            while let result = PQgetResult(conn) {
                let status = PQresultStatus(result)
                PQclear(result)
                if status == PGRES_PIPELINE_SYNC { break }
            }
        }
    }
}

extension PostgresStatement {
    /// Calls `body` with the binds as libpq takes them: count, values (text ones
    /// NUL-terminated), lengths and formats, valid during the call (libpq copies them).
    func withParameters<R>(_ body: (Int32, UnsafePointer<UnsafePointer<CChar>?>?,
                                    UnsafePointer<Int32>?, UnsafePointer<Int32>?) -> R) -> R {
        let lengths = binds.map { Int32($0.bytes?.count ?? 0) }
        let formats = binds.map { $0.isBinary ? Int32(1) : Int32(0) }
        let buffers: [UnsafeMutablePointer<CChar>?] = binds.map { bind in
            guard let bytes = bind.bytes else { return nil }
            let p = UnsafeMutablePointer<CChar>.allocate(capacity: bytes.count + 1)
            bytes.withUnsafeBufferPointer { src in
                // An empty array may have no storage to point at.
                guard let base = src.baseAddress, !src.isEmpty else { return }
                UnsafeMutableRawPointer(p).copyMemory(from: base, byteCount: src.count)
            }
            p[bytes.count] = 0
            return p
        }
        defer { buffers.forEach { $0?.deallocate() } }
        let values = buffers.map { UnsafePointer($0) }
        return values.withUnsafeBufferPointer { v in
            lengths.withUnsafeBufferPointer { l in
                formats.withUnsafeBufferPointer { f in body(Int32(binds.count), v.baseAddress, l.baseAddress, f.baseAddress) }
            }
        }
    }
}
