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
    let logger: Logger
    private let pool: ConnectionPool

    /// - Parameters:
    ///   - url: where to connect; its password is never logged.
    ///   - driver: the backend's driver.
    ///   - maxConnections: the most connections open at once.
    ///   - maxTransactionAttempts: tries of a transaction that hits a deadlock.
    ///   - logger: where the drivers log notices and the pool its events.
    public init(url: DatabaseURL, driver: any DatabaseDriver, maxConnections: Int = 10,
                maxTransactionAttempts: Int = 5, logger: Logger) {
        precondition(maxConnections > 0, "a pool needs at least one connection")
        self.url = url
        self.dialect = driver.dialect
        self.maxConnections = maxConnections
        self.maxTransactionAttempts = max(1, maxTransactionAttempts)
        self.logger = logger
        self.pool = ConnectionPool(url: url, driver: driver, limit: maxConnections, logger: logger)
    }

    /// Leases one connection to `body`, which runs on the connection's thread.
    ///
    /// Cancelling the calling task cancels the statement running at that moment where
    /// the driver allows it.
    /// - Throws: whatever `body` throws, or a ``DatabaseError`` from connecting.
    @discardableResult
    public func withConnection<T: Sendable>(_ body: @escaping @Sendable (any SQLConnection) throws -> T) async throws -> T {
        let slot = try await pool.lease()
        do {
            let result = try await slot.run(body)
            await pool.release(slot)
            return result
        } catch {
            await pool.release(slot)
            throw error
        }
    }

    /// Runs `body` in one transaction on one connection: commits when it returns, rolls
    /// back when it throws.
    ///
    /// A deadlock or serialization failure (also one reported at `COMMIT`) runs the
    /// whole closure again, up to ``maxTransactionAttempts`` times, so `body` must not
    /// have effects outside the database.
    /// - Throws: what `body` throws, or the last ``DatabaseError``.
    @discardableResult
    public func transaction<T: Sendable>(_ body: @escaping @Sendable (any SQLConnection) throws -> T) async throws -> T {
        var attempt = 1
        while true {
            do {
                return try await withConnection { conn in
                    try conn.executeUnprepared("BEGIN")
                    let value: T
                    do {
                        value = try body(conn)
                    } catch {
                        Self.rollBack(conn)
                        throw error
                    }
                    do {
                        try conn.executeUnprepared("COMMIT")
                    } catch {
                        Self.rollBack(conn)
                        throw error
                    }
                    return value
                }
            } catch let error as DatabaseError where error.isRetryable && attempt < maxTransactionAttempts {
                logger.debug("transaction retried", metadata: ["attempt": "\(attempt)", "error": "\(error)"])
                attempt += 1
                // A short random pause lets the transaction that won go first.
                try await Task.sleep(nanoseconds: UInt64.random(in: 1_000_000...(5_000_000 * UInt64(attempt))))
            }
        }
    }

    /// Closes every idle connection and refuses new leases.
    public func close() async {
        await pool.close()
    }

    private static func rollBack(_ conn: any SQLConnection) {
        _ = try? conn.executeUnprepared("ROLLBACK")
    }
}

/// A connection with its thread. Only `run` touches the connection, and only on the thread.
final class ConnectionSlot: @unchecked Sendable {
    let id: Int
    private let thread: ConnectionThread
    private var connection: (any SQLConnection)?
    private let canceller: (any SQLCanceller)?
    private let state = NSLock()
    private var running = false
    private var cancelRequested = false

    private init(id: Int, thread: ConnectionThread, connection: any SQLConnection) {
        self.id = id
        self.thread = thread
        self.connection = connection
        self.canceller = connection.makeCanceller()
    }

    /// Connects on a new thread, which then belongs to the connection.
    static func open(id: Int, url: DatabaseURL, driver: any DatabaseDriver, logger: Logger) async throws -> ConnectionSlot {
        let thread = ConnectionThread(name: "strata-conn-\(id)")
        do {
            let box = try await thread.run { UncheckedBox(try driver.connect(to: url, logger: logger)) }
            return ConnectionSlot(id: id, thread: thread, connection: box.value)
        } catch {
            thread.stop()
            throw error
        }
    }

    var isBroken: Bool {
        state.lock(); defer { state.unlock() }
        return connection?.isBroken ?? true
    }

    func run<T: Sendable>(_ body: @escaping @Sendable (any SQLConnection) throws -> T) async throws -> T {
        state.withLock { cancelRequested = false }
        return try await withTaskCancellationHandler {
            try await thread.run { [self] in
                guard let conn = connection else {
                    throw DatabaseError(.connectionLost, message: "connection already closed")
                }
                // The thread is not a task, so the lease's cancellation is tracked here.
                try begin()
                defer { end() }
                return try body(conn)
            }
        } onCancel: {
            state.lock()
            cancelRequested = true
            // Only while the body runs, so a late cancel never hits the next lease's statement.
            if running { canceller?.cancel() }
            state.unlock()
        }
    }

    private func begin() throws {
        state.lock()
        defer { state.unlock() }
        if cancelRequested { throw CancellationError() }
        running = true
    }

    private func end() {
        state.lock()
        running = false
        state.unlock()
    }

    /// Closes the connection on its thread, then ends the thread.
    func close() async {
        _ = try? await thread.run { [self] in
            connection?.close()
            connection = nil
        }
        thread.stop()
    }
}

/// Hands out at most `limit` connections; waiters are served first come, first served.
actor ConnectionPool {
    private let url: DatabaseURL
    private let driver: any DatabaseDriver
    private let limit: Int
    private let logger: Logger
    private var idle: [ConnectionSlot] = []
    private var open = 0
    private var nextID = 0
    private var closed = false
    private var waiters: [(id: Int, continuation: CheckedContinuation<ConnectionSlot?, Error>)] = []

    init(url: DatabaseURL, driver: any DatabaseDriver, limit: Int, logger: Logger) {
        self.url = url
        self.driver = driver
        self.limit = limit
        self.logger = logger
    }

    func lease() async throws -> ConnectionSlot {
        while true {
            if closed { throw DatabaseError(.poolClosed, message: "the database pool is closed") }
            if let slot = idle.popLast() { return slot }
            if open < limit {
                open += 1
                nextID += 1
                do {
                    return try await ConnectionSlot.open(id: nextID, url: url, driver: driver, logger: logger)
                } catch {
                    open -= 1
                    wakeOne()
                    throw error
                }
            }
            // Wait for a release; a released slot is handed over directly.
            nextID += 1
            let waiterID = nextID
            let handed: ConnectionSlot? = try await withTaskCancellationHandler {
                try await withCheckedThrowingContinuation { continuation in
                    waiters.append((waiterID, continuation))
                }
            } onCancel: {
                Task { await self.cancelWaiter(waiterID) }
            }
            if let handed { return handed }
        }
    }

    func release(_ slot: ConnectionSlot) async {
        if closed || slot.isBroken {
            open -= 1
            await slot.close()
            wakeOne()
            return
        }
        if !waiters.isEmpty {
            let waiter = waiters.removeFirst()
            waiter.continuation.resume(returning: slot)
            return
        }
        idle.append(slot)
    }

    /// Lets one waiter try again (a slot was freed without being handed over).
    private func wakeOne() {
        if !waiters.isEmpty {
            waiters.removeFirst().continuation.resume(returning: nil)
        }
    }

    private func cancelWaiter(_ id: Int) {
        if let i = waiters.firstIndex(where: { $0.id == id }) {
            waiters.remove(at: i).continuation.resume(throwing: CancellationError())
        }
    }

    func close() async {
        closed = true
        let slots = idle
        idle.removeAll()
        open -= slots.count
        for slot in slots { await slot.close() }
        for waiter in waiters {
            waiter.continuation.resume(throwing: DatabaseError(.poolClosed, message: "the database pool is closed"))
        }
        waiters.removeAll()
    }
}
