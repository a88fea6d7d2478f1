import StrataSQL

/// Finds or creates billed accounts by their external id (case-sensitive).
public enum Customers {
    /// The customer's id, creating the customer on first use, in the caller's transaction.
    ///
    /// Safe when two transactions create the same customer at once: the loser of the
    /// unique-key race reads the winner's row.
    public static func ensure(_ conn: any SQLConnection, externalID: String, at time: SQLTimestamp) throws -> Int64 {
        if let id = try find(conn, externalID: externalID) { return id }
        let upsert = try conn.dialect.upsertClause(conflictColumns: ["external_id"], updating: [])
        try conn.execute("INSERT INTO customers (external_id, created_at, updated_at) VALUES (\(externalID), \(time), \(time)) \(unsafeRaw: upsert)")
        guard let id = try find(conn, externalID: externalID) else {
            throw DatabaseError(.other, message: "customer \(externalID) vanished after insert")
        }
        return id
    }

    /// The customer's id, or `nil`.
    public static func find(_ conn: any SQLConnection, externalID: String) throws -> Int64? {
        try conn.queryFirst("SELECT id FROM customers WHERE external_id = \(externalID)")?.decode("id")
    }
}
