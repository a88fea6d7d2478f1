import StrataSQL

/// Which lock a run takes: `--lock auto|session|table|none`.
public enum MigrationLockMode: String, Sendable, Hashable, CaseIterable {
    /// The session lock on a single server, the table lock behind a transaction pooler
    /// or on a cluster node (``MigrationLockChoice``).
    case auto
    case session
    case table
    /// No lock: only one run at a time, by other means. `--no-lock` says the same.
    case none
}

/// The one place that decides which lock a run takes.
///
/// `auto` asks the connection where it stands (``SQLConnection/topology()``: the driver
/// tells a Galera node by `wsrep_on`, and a transaction pooler by the URL's
/// `pooler=transaction` or by PgBouncer's made-up backend key) and takes the session lock
/// only where a session lock keeps two runs apart: on one server spoken to directly.
public enum MigrationLockChoice {
    /// The kind of lock `mode` means on `conn`, or `nil` for none, and why, in words.
    ///
    /// - Throws: ``DatabaseError`` from asking the server.
    public static func kind(for mode: MigrationLockMode, on conn: any SQLConnection) throws -> (kind: MigrationLockKind?, reason: String) {
        switch mode {
        case .none: return (nil, "--lock none")
        case .session: return (.session, "--lock session")
        case .table: return (.table, "--lock table")
        case .auto:
            let topology = try conn.topology()
            return topology.holdsSessionLocks
                ? (.session, "auto: \(topology.rawValue)")
                : (.table, "auto: \(topology.rawValue), where a session lock does not hold")
        }
    }
}
