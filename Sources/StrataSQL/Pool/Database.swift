import Foundation
import Logging

/// A bounded pool of connections to one database, safe to share between tasks.
///
/// The unit of work is a synchronous closure that gets one connection to itself and
/// runs on that connection's own thread (GRDB's model): nothing else interleaves with
/// it, and no blocking C call runs on Swift's cooperative pool.
///
/// ```swift
/// let db = Database(url: url, driver: PostgresDriver(), logger: logger)
/// let balance = try await db.transaction { conn in
///     try conn.execute("UPDATE credit_wallets SET balance = balance - \(cost) WHERE id = \(id)")
///     return try conn.queryFirst("SELECT balance FROM credit_wallets WHERE id = \(id)")?.decode("balance", as: Int64.self)
/// }
/// ```
public final class Database: Sendable {
    public let url: DatabaseURL
    public let dialect: any SQLDialect
    public let maxConnections: Int
    /// Attempts `transaction` makes when the server reports a deadlock or serialization failure.
    public let maxTransactionAttempts: Int
    /// The hot standby that reads tolerating its lag go to (``withReplicaConnection(_:)``),
    /// when one is configured.
    public let replica: Database?
    let logger: Logger
    private let driver: any DatabaseDriver
    private let pool: ConnectionPool

    /// - Parameters:
    ///   - url: where to connect; its password is never logged.
    ///   - driver: the backend's driver.
    ///   - maxConnections: the most connections open at once.
    ///   - maxTransactionAttempts: tries of a transaction that hits a deadlock.
    ///   - replica: a read-only standby of this database (same backend, same schema), for
    ///     the reads that tolerate its lag; it gets a pool of its own, as large.
    ///   - logger: where the drivers log notices and the pool its events.
    public init(url: DatabaseURL, driver: any DatabaseDriver, maxConnections: Int = 10,
                maxTransactionAttempts: Int = 10, replica: DatabaseURL? = nil, logger: Logger) {
        precondition(maxConnections > 0, "a pool needs at least one connection")
        precondition(replica == nil || replica?.backend == url.backend, "a replica runs the primary's backend")
        self.url = url
        self.dialect = driver.dialect
        self.maxConnections = maxConnections
        self.maxTransactionAttempts = max(1, maxTransactionAttempts)
        self.logger = logger
        self.driver = driver
        self.pool = ConnectionPool(url: url, driver: driver, limit: maxConnections, logger: logger)
        self.replica = replica.map {
            Database(url: $0, driver: driver, maxConnections: maxConnections, maxTransactionAttempts: maxTransactionAttempts,
                     logger: logger)
        }
    }

    /// Leases one connection to `body`, which runs on the connection's thread.
    ///
    /// Cancelling the calling task cancels the statement running at that moment where
    /// the driver allows it. Up to handing `body` over, it runs on the caller's executor
    /// (`nonisolated(nonsending)`), so a task on ``executor`` leases without a hop.
    /// - Throws: whatever `body` throws, or a ``DatabaseError`` from connecting.
    @discardableResult
    nonisolated(nonsending) public func withConnection<T: Sendable>(_ body: @escaping @Sendable (any SQLConnection) throws -> T) async throws -> T {
        let slot = try await pool.lease()
        defer { pool.release(slot) }
        return try await slot.run(body)
    }

    /// Leases `body` a connection to the ``replica`` when one is configured, else to this
    /// database: for reads that tolerate a standby's lag (catalogue lists, audit
    /// queries, a display of the migration history).
    ///
    /// A standby replays the primary's commits a little later (about 12 ms on loopback
    /// here) and refuses writes, so `body` only reads, and nothing that decides a write or
    /// must see the caller's own write goes through here: those use
    /// ``withConnection(_:)`` or ``transaction(alsoRetrying:_:)``, which always reach
    /// the primary. When the replica cannot be reached (refused, lost, timed out, or it
    /// refuses the login), the read runs on the primary instead, with a warning: a
    /// standby being down never fails a read the primary can answer.
    @discardableResult
    nonisolated(nonsending) public func withReplicaConnection<T: Sendable>(_ body: @escaping @Sendable (any SQLConnection) throws -> T) async throws -> T {
        guard let replica else { return try await withConnection(body) }
        do {
            return try await replica.withConnection(body)
        } catch let error as DatabaseError where Self.unreachable.contains(error.category) {
            logger.warning("replica unreachable: the read goes to the primary", metadata: [
                "replica": "\(replica.url)", "error": "\(error.category.rawValue)"])
            return try await withConnection(body)
        }
    }

    /// The failures that say a server cannot be reached, as opposed to a failed statement.
    private static let unreachable: Set<DatabaseError.Category> = [
        .connectionRefused, .connectionLost, .timeout, .authentication, .unknownDatabase,
    ]

    /// Runs `body` in one transaction on one connection: commits when it returns, rolls
    /// back when it throws.
    ///
    /// This is the one retry policy of a transaction: a deadlock or serialization failure
    /// (also one reported at `COMMIT`), and any error of `alsoRetrying`, run the whole
    /// closure again after a short random pause, up to ``maxTransactionAttempts`` times
    /// in all. So `body` must not have effects outside the database.
    ///
    /// - Parameter alsoRetrying: more categories worth another run; e.g. a unique
    ///   violation, for a closure that looks for a row before it inserts it: a concurrent
    ///   transaction inserted it first, and the next run finds it.
    /// - Throws: what `body` throws, or the last ``DatabaseError``.
    @discardableResult
    nonisolated(nonsending) public func transaction<T: Sendable>(alsoRetrying: Set<DatabaseError.Category> = [],
                                                                 _ body: @escaping @Sendable (any SQLConnection) throws -> T) async throws -> T {
        var attempt = 1
        while true {
            do {
                return try await withConnection { conn in try conn.inTransaction { try body(conn) } }
            } catch let error as DatabaseError where attempt < maxTransactionAttempts
                        && (error.isRetryable || alsoRetrying.contains(error.category)) {
                logger.debug("transaction retried", metadata: ["attempt": "\(attempt)", "error": "\(error)"])
                attempt += 1
                // A random pause lets the transaction that won go first; its bound doubles
                // with each attempt (5, 10, 20 … ms, at most 500 ms), so writers that keep
                // colliding on one hot row (on a cluster, certification aborts one of each
                // pair committed close together) spread out instead of colliding again.
                let bound = min(5_000_000 << UInt64(min(attempt - 2, 10)), 500_000_000)
                try await Task.sleep(nanoseconds: UInt64.random(in: 1_000_000...UInt64(bound)))
            }
        }
    }

    /// Opens a connection of the caller's own, outside the pool, on the calling thread.
    ///
    /// For work that must go on beside a lease the caller holds, on a thread of its own
    /// (a lock's lease renewed while a migration runs on its leased connection): the pool
    /// neither counts nor cancels it. The caller uses it from one thread at a time and
    /// closes it. Blocks while connecting: never call it from Swift's cooperative pool.
    ///
    /// - Throws: ``DatabaseError`` from connecting.
    public func openUnpooledConnection() throws -> any SQLConnection {
        try driver.connect(to: url, logger: logger)
    }

    /// The pool's connection threads as a task executor, for tasks that mostly talk to
    /// this database.
    ///
    /// A task that prefers it runs between its statements on the thread of the
    /// connection it last used, and its next ``withConnection(_:)`` or
    /// ``transaction(_:)`` takes that connection and runs in place, with no hand-over
    /// to another thread and back: a short statement costs what the driver costs. A
    /// task on Swift's default executor hands each unit of work to a connection thread
    /// and is woken when it is done, which for a one-row select costs more than the
    /// query. Keep heavy computation and waits for other tasks out of such a task: it
    /// runs on the thread that would run the next statement.
    ///
    /// ```swift
    /// try await withThrowingTaskGroup(of: Void.self) { group in
    ///     for request in requests {
    ///         group.addTask(executorPreference: db.executor) { try await handle(request, db) }
    ///     }
    ///     try await group.waitForAll()
    /// }
    /// ```
    ///
    /// Once the database is closed, such tasks go on on the global executor. Keep the
    /// `Database` alive while tasks prefer its executor.
    public var executor: any TaskExecutor { pool }

    /// The pool's connections now: in use, idle, and the tasks waiting for one.
    ///
    /// Cheap enough to read at every metrics scrape: one short lock and no query.
    public var statistics: PoolStatistics { pool.statistics() }

    /// Fails waiting leases, refuses new ones, closes every connection (a lease running
    /// now finishes first), and returns once every connection thread has exited.
    ///
    /// Call it before the process ends: exiting while a connection thread still runs
    /// lets the C libraries' exit handlers free state the thread is still using. A
    /// second call waits for the first one's shutdown.
    public func close() async {
        await pool.close()
        await replica?.close()
    }
}
