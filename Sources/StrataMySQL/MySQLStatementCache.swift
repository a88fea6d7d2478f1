import StrataSQL

/// Prepared statements of one connection by SQL text, least recently used evicted first.
struct MySQLStatementCache {
    let capacity: Int
    private var entries: [String: MySQLStatement] = [:]
    private var clock: UInt64 = 0

    init(capacity: Int) {
        self.capacity = max(1, capacity)
    }

    var count: Int { entries.count }

    mutating func statement(for sql: String) -> MySQLStatement? {
        guard let statement = entries[sql] else { return nil }
        clock += 1
        statement.lastUsed = clock
        return statement
    }

    mutating func insert(_ statement: MySQLStatement) {
        if entries.count >= capacity, let oldest = entries.values.min(by: { $0.lastUsed < $1.lastUsed }) {
            entries[oldest.sql] = nil
            oldest.close()
        }
        clock += 1
        statement.lastUsed = clock
        entries[statement.sql] = statement
    }

    mutating func remove(_ sql: String) {
        entries.removeValue(forKey: sql)?.close()
    }

    mutating func removeAll() {
        for statement in entries.values { statement.close() }
        entries.removeAll()
    }
}
