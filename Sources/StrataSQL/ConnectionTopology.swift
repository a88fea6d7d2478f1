/// What stands between a connection and the data, as far as session state goes.
///
/// A session-level named lock (PostgreSQL advisory lock, MySQL `GET_LOCK`) keeps two
/// clients apart only when both talk to one server directly. Behind a transaction
/// pooler the server session under a client changes from one transaction to the next,
/// and on a node of a multi-writer cluster the lock is local to that node. A driver tells
/// which one a connection is in (``SQLConnection/topology()``), so that code above the
/// drivers can choose what holds there without testing the backend.
public enum ConnectionTopology: String, Sendable, Hashable, CaseIterable {
    /// One server, spoken to directly.
    case singleServer = "single server"
    /// A transaction pooler (PgBouncer in `pool_mode = transaction`), detected or
    /// declared in the URL (`pooler=transaction`).
    case transactionPooler = "transaction pooler"
    /// A node of a multi-writer cluster (MariaDB Galera, `wsrep_on`).
    case clusterNode = "cluster node"

    /// Whether a session-level named lock keeps two clients apart here.
    public var holdsSessionLocks: Bool { self == .singleServer }
}
