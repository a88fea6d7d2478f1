import Foundation
import StrataSQL

/// Keeps two seed runs on one database apart: a session-level named lock, held from
/// before the history table is created until the load has committed.
///
/// Without it two first runs race on PostgreSQL: both read an empty table (a row lock
/// cannot lock a row that does not exist yet) and insert the same keys, and both create
/// `strata_seed_history` at once, which fails in the catalogue's own unique index. The
/// lock is the one migrations use (PostgreSQL advisory lock, MySQL `GET_LOCK`), under a
/// name of its own, so the server releases it if the process dies.
///
/// Behind a transaction pooler a session lock would land on whichever server session
/// serves that statement (and its release on another): there the lock is taken inside
/// the load's transaction, as a transaction-level lock on the same key
/// (``SQLDialect/tryTransactionLockQuery(name:)``), where the dialect has one. On a node
/// of a multi-writer cluster the session lock keeps apart only the runs on that node;
/// runs on two nodes both load, and the cluster's certification lets one commit and
/// aborts the other (a deadlock error, at a statement or at `COMMIT`), whose retry then
/// finds every row in place: no row is written twice either way.
struct SeedLock: Sendable {
    let name: String
    let timeout: Duration

    /// - Parameters:
    ///   - database: the database's name; a MySQL lock name is server-wide.
    ///   - timeout: how long to wait for another run.
    init(database: String, timeout: Duration) {
        self.name = "strata:\(database):\(SeedHistory.table)"
        self.timeout = timeout
    }

    /// Waits up to ``timeout`` for the lock (``SQLConnection/waitForLock(name:scope:timeout:onWait:isCancelled:)``).
    ///
    /// - Parameters:
    ///   - onWait: called once, when the first try finds the lock taken.
    ///   - isCancelled: asked while waiting; `true` gives up at once.
    /// - Throws: ``DatabaseError`` `.lockTimeout` when another run still holds it,
    ///   `.canceled` when the run was cancelled meanwhile.
    func acquire(_ conn: any SQLConnection, scope: LockScope = .session, onWait: () -> Void,
                 isCancelled: () -> Bool = { false }) throws {
        switch try conn.waitForLock(name: name, scope: scope, timeout: timeout, onWait: onWait, isCancelled: isCancelled) {
        case .acquired: return
        case .cancelled:
            throw DatabaseError(.canceled, message: "canceled while waiting for the seed lock '\(name)'; nothing was written")
        case .timedOut:
            throw DatabaseError(.lockTimeout, message: "another seed run held the lock '\(name)' for longer than \(timeout.seconds) s")
        }
    }

    /// Whether the lock is taken inside the load's transaction on `conn`: behind a
    /// transaction pooler, where the dialect has a transaction-level lock and DDL in a
    /// transaction (the history table is created under the lock).
    static func isTransactionScoped(on conn: any SQLConnection) throws -> Bool {
        let dialect = conn.dialect
        guard dialect.tryTransactionLockQuery(name: "") != nil, dialect.supportsTransactionalDDL else { return false }
        return try conn.topology() == .transactionPooler
    }

    /// Releases the lock; a connection that cannot say so is closed by the pool, which
    /// releases it too.
    func release(_ conn: any SQLConnection) {
        try? conn.releaseLock(name: name)
    }
}
