import StrataSQL

/// Brings one catalogue table in line with a validated seed file, on one connection.
///
/// Runs inside the caller's transaction. It reads the table once (locking its rows when
/// it is going to write), then per row of the file inserts it, updates the columns that
/// differ, or leaves it alone; with `prune`, active rows the file no longer has are
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

    /// - Parameter dryRun: only count; nothing is written and no row is locked.
    /// - Throws: ``DatabaseError``, or ``RowDecodingError`` for a stored row of an unexpected shape.
    func apply(_ records: [SeedRecord], on conn: any SQLConnection, at now: SQLTimestamp,
               prune: Bool, dryRun: Bool) throws -> Counts {
        let existing = try storedRows(conn, lock: !dryRun)
        var counts = Counts()
        for record in records {
            guard let stored = existing[record.key] else {
                if !dryRun { try insert(record, conn, at: now) }
                counts.inserted += 1
                continue
            }
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
        var query: SQLQuery = "SELECT "
        query.append(list(table.columns.map { "\(identifier: $0.name)" }))
        query.append(" FROM \(identifier: table.name)")
        // Serialises two loads of one catalogue; a row inserted concurrently still
        // meets the unique key and fails the later transaction, which changes nothing.
        if lock { query.append(" FOR UPDATE") }
        var rows: [String: Row] = [:]
        for row in try conn.query(query) {
            rows[try row.decode(table.key, as: String.self)] = row
        }
        return rows
    }

    private func insert(_ record: SeedRecord, _ conn: any SQLConnection, at now: SQLTimestamp) throws {
        let names = table.columns.map(\.name)
        var query: SQLQuery = "INSERT INTO \(identifier: table.name) ("
        query.append(list((names + ["created_at", "updated_at"]).map { "\(identifier: $0)" }))
        query.append(") VALUES (")
        query.append(list(names.map { "\(record.values[$0]!.sqlValue)" } + ["\(now)", "\(now)"]))
        query.append(")")
        try conn.execute(query)
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
