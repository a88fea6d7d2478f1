import StrataSQL

/// Brings one catalogue table in line with a validated seed file, on one connection.
///
/// Runs inside the caller's transaction. It reads the table once (locking its rows when
/// it is going to write), then per row of the file inserts it, updates the columns that
/// differ, or leaves it alone (a column the file leaves out is never changed); with `prune`, active rows the file no longer has are
/// deactivated. Rows are never deleted: ledgers and subscriptions point at them.
/// `created_at` is set on insert and `updated_at` only when a row changes, both to the
/// run's clock value.
struct CatalogueWriter {
    let table: CatalogueTable

    struct Counts: Sendable {
        var inserted = 0
        var updated = 0
        var unchanged = 0
        var deactivated = 0
    }

    /// - Parameters:
    ///   - dryRun: only count; nothing is written and no row is locked.
    ///   - isCancelled: asked before each row's statements: a cancel that reached the
    ///     server between two statements cancelled none, so the load stops here instead.
    /// - Throws: ``DatabaseError`` (`.canceled` when cancelled), or ``RowDecodingError``
    ///   for a stored row of an unexpected shape.
    func apply(_ records: [SeedRecord], on conn: any SQLConnection, at now: SQLTimestamp,
               prune: Bool, dryRun: Bool, isCancelled: () -> Bool = { false }) throws -> Counts {
        let existing = try storedRows(conn, lock: !dryRun)
        var counts = Counts()
        for record in records {
            if isCancelled() { throw DatabaseError(.canceled, message: "seed canceled: nothing was written") }
            var found = existing[record.key]
            if found == nil {
                if try dryRun || insert(record, conn, at: now) {
                    counts.inserted += 1
                    continue
                }
                found = try storedRow(record.key, conn)
            }
            guard let stored = found else {
                throw DatabaseError(.uniqueViolation, message: "\(table.name): the row \(table.key) = '\(record.key)' was neither inserted nor found (another row holds one of its unique values)")
            }
            // A column the file leaves out keeps its stored value.
            let changed = table.columns.filter { column in
                !(record.values[column.name]?.matches(stored[column.name] ?? .null) ?? true)
            }
            if changed.isEmpty {
                counts.unchanged += 1
                continue
            }
            if !dryRun {
                try update(key: record.key, set: changed.map { ($0.name, record.values[$0.name]!.sqlValue) }, conn, at: now)
            }
            counts.updated += 1
        }
        if prune {
            let inFile = Set(records.map(\.key))
            for (key, stored) in existing where !inFile.contains(key) {
                guard (try? Bool(sqlValue: stored["active"] ?? .null)) == true else { continue }
                if !dryRun { try update(key: key, set: [("active", .bool(false))], conn, at: now) }
                counts.deactivated += 1
            }
        }
        return counts
    }

    /// The table's rows by natural key, with the columns a seed file sets.
    private func storedRows(_ conn: any SQLConnection, lock: Bool) throws -> [String: Row] {
        var query = selectColumns
        // Keeps the rows read as they are until the load commits. A row that does not
        // exist yet cannot be locked: ``SeedLock`` keeps seed runs apart, and `insert`
        // copes with a row another writer adds meanwhile.
        if lock { query.append(" FOR UPDATE") }
        var rows: [String: Row] = [:]
        for row in try conn.query(query) {
            rows[try row.decode(table.key, as: String.self)] = row
        }
        return rows
    }

    /// One stored row by natural key, locked, or `nil`.
    private func storedRow(_ key: String, _ conn: any SQLConnection) throws -> Row? {
        var query = selectColumns
        query.append(" WHERE \(identifier: table.key) = \(key) FOR UPDATE")
        return try conn.queryFirst(query)
    }

    private var selectColumns: SQLQuery {
        var query: SQLQuery = "SELECT "
        query.append(list(table.columns.map { "\(identifier: $0.name)" }))
        query.append(" FROM \(identifier: table.name)")
        return query
    }

    /// Inserts the row unless one with its key exists by now; a column the file leaves
    /// out takes its default.
    ///
    /// "Do nothing" on the key, so a row another writer added since the table was read
    /// never fails the statement (which would abort the whole load on PostgreSQL).
    /// - Returns: whether the row was inserted.
    private func insert(_ record: SeedRecord, _ conn: any SQLConnection, at now: SQLTimestamp) throws -> Bool {
        var query: SQLQuery = "INSERT INTO \(identifier: table.name) ("
        query.append(list((table.columns.map(\.name) + ["created_at", "updated_at"]).map { "\(identifier: $0)" }))
        query.append(") VALUES (")
        // Validation leaves only columns with a default out of a record.
        query.append(list(table.columns.map { "\((record.values[$0.name] ?? $0.defaultValue)!.sqlValue)" } + ["\(now)", "\(now)"]))
        let doNothing = try conn.dialect.upsertClause(conflictColumns: [table.key], updating: [])
        query.append(") \(unsafeRaw: doNothing)")
        return try conn.insertedID(query) != nil
    }

    private func update(key: String, set assignments: [(String, SQLValue)], _ conn: any SQLConnection,
                        at now: SQLTimestamp) throws {
        var query: SQLQuery = "UPDATE \(identifier: table.name) SET "
        query.append(list(assignments.map { "\(identifier: $0.0) = \($0.1)" } + ["updated_at = \(now)"]))
        query.append(" WHERE \(identifier: table.key) = \(key)")
        try conn.execute(query)
    }

    private func list(_ parts: [SQLQuery]) -> SQLQuery {
        var query: SQLQuery = ""
        for (i, part) in parts.enumerated() {
            if i > 0 { query.append(", ") }
            query.append(part)
        }
        return query
    }
}
