import StrataSQL

/// Prepared statements of one connection by SQL text, least recently used evicted first.
struct MySQLStatementCache {
    let capacity: Int
    private var entries: [String: MySQLStatement] = [:]
    private var clock: UInt64 = 0
    /// The statement found last: a loop that repeats one statement finds it again by
    /// comparing the text, without hashing it.
    private var last: MySQLStatement?

    init(capacity: Int) {
        self.capacity = max(1, capacity)
    }

    var count: Int { entries.count }

    mutating func statement(for sql: String) -> MySQLStatement? {
        clock += 1
        if let last, last.sql == sql {
            last.lastUsed = clock
            return last
        }
        guard let statement = entries[sql] else { return nil }
        statement.lastUsed = clock
        last = statement
        return statement
    }

    mutating func insert(_ statement: MySQLStatement) {
        if entries.count >= capacity, let oldest = entries.values.min(by: { $0.lastUsed < $1.lastUsed }) {
            entries[oldest.sql] = nil
            if oldest === last { last = nil }
            oldest.close()
        }
        clock += 1
        statement.lastUsed = clock
        entries[statement.sql] = statement
        last = statement
    }

    mutating func remove(_ sql: String) {
        guard let statement = entries.removeValue(forKey: sql) else { return }
        if statement === last { last = nil }
        statement.close()
    }

    mutating func removeAll() {
        last = nil
        for statement in entries.values { statement.close() }
        entries.removeAll()
    }
}
