import Foundation
import Logging
import Synchronization

/// One place in the pool: a thread and the connection that lives on it.
///
/// The connection is opened on the thread at the first lease that needs it, and opened
/// again after it broke; only code running on the thread touches it.
final class ConnectionSlot: @unchecked Sendable {
    let index: Int
    let thread: ConnectionThread
    private let url: DatabaseURL
    private let driver: any DatabaseDriver
    private let logger: Logger

    /// Touched on the thread only.
    private var connection: (any SQLConnection)?
    private var closed = false

    /// Set while a task holds the slot; taken and given back without the pool's lock.
    private let leaseFlag = Atomic<Bool>(false)

    /// Shared with the task that cancels: guarded by `state`.
    private let state = NSLock()
    private var canceller: (any SQLCanceller)?
    private var running = false
    private var cancelRequested = false

    init(index: Int, owner: ObjectIdentifier, url: DatabaseURL, driver: any DatabaseDriver, logger: Logger) {
        self.index = index
        self.url = url
        self.driver = driver
        self.logger = logger
        self.thread = ConnectionThread(owner: owner, slotIndex: index, name: "strata-conn-\(index)")
        thread.slot = self
    }

    /// Takes the slot if it is free.
    func tryAcquire() -> Bool {
        leaseFlag.compareExchange(expected: false, desired: true, ordering: .sequentiallyConsistent).exchanged
    }

    /// Frees the slot (the pool then hands it to a waiter, if one waits).
    func markFree() {
        leaseFlag.store(false, ordering: .sequentiallyConsistent)
    }

    var isLeased: Bool { leaseFlag.load(ordering: .relaxed) }

    /// Runs `body` with the slot's connection on the slot's thread: in place when the
    /// task already runs there, else handed over to the thread and awaited.
    ///
    /// Cancelling the task cancels the statement running at that moment, where the
    /// driver allows it.
    func run<T: Sendable>(_ body: @escaping @Sendable (any SQLConnection) throws -> T) async throws -> T {
        state.withLock { cancelRequested = false }
        return try await withTaskCancellationHandler {
            if thread.isCurrent {
                return try runOnThread(body)
            }
            return try await thread.run { [self] in try runOnThread(body) }
        } onCancel: {
            state.lock()
            cancelRequested = true
            // Only while the body runs, so a late cancel never hits the next lease's statement.
            if running { canceller?.cancel() }
            state.unlock()
        }
    }

    private func runOnThread<T>(_ body: (any SQLConnection) throws -> T) throws -> T {
        // The thread is not a task, so the lease's cancellation is tracked here.
        try checkCancelled()
        let conn = try openConnection()
        state.withLock { running = true }
        defer { state.withLock { running = false } }
        return try body(conn)
    }

    private func checkCancelled() throws {
        if state.withLock({ cancelRequested }) { throw CancellationError() }
    }

    /// The open connection, replacing one that broke.
    private func openConnection() throws -> any SQLConnection {
        if closed { throw DatabaseError(.poolClosed, message: "the database pool is closed") }
        if let connection, !connection.isBroken { return connection }
        if let broken = connection {
            logger.debug("reopening a broken connection", metadata: ["slot": "\(index)"])
            broken.close()
            connection = nil
            state.withLock { canceller = nil }
        }
        let opened = try driver.connect(to: url, logger: logger)
        connection = opened
        let made = opened.makeCanceller()
        state.withLock { canceller = made }
        return opened
    }

    /// Closes the connection on its thread, then lets the thread end.
    func close() async {
        if thread.isCurrent {
            closeOnThread()
        } else {
            _ = try? await thread.run { [self] in closeOnThread() }
        }
        thread.stop()
    }

    /// Closes the connection and ends the thread without waiting for either.
    func closeSoon() {
        thread.submit { [self] in closeOnThread() }
        thread.stop()
    }

    private func closeOnThread() {
        closed = true
        connection?.close()
        connection = nil
        state.withLock { canceller = nil }
    }
}
