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

    /// Shared with the task that cancels.
    private let cancellation = StrataMutex(Cancellation())

    private struct Cancellation {
        var canceller: (any SQLCanceller)?
        /// Whether a lease's body runs now: only then does a cancel reach the server.
        var running = false
        var requested = false
    }

    init(index: Int, owner: ObjectIdentifier, url: DatabaseURL, driver: any DatabaseDriver, logger: Logger) {
        self.index = index
        self.url = url
        self.driver = driver
        self.logger = logger
        self.thread = ConnectionThread(owner: owner, name: "strata-conn-\(index)")
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
    nonisolated(nonsending) func run<T: Sendable>(_ body: @escaping @Sendable (any SQLConnection) throws -> T) async throws -> T {
        if thread.isCurrent, let connection, !connection.isBroken, connection.noticesTaskCancellation {
            // In place, on a connection that watches the task itself while it waits for
            // the server: no handler to install and remove (the costliest part of a
            // short lease in Swift's runtime).
            try Task.checkCancellation()
            return try body(connection)
        }
        cancellation.withLock { $0.requested = false }
        return try await withTaskCancellationHandler {
            if thread.isCurrent {
                return try runOnThread(body)
            }
            return try await thread.run { [self] in try runOnThread(body) }
        } onCancel: {
            cancellation.withLock { c in
                c.requested = true
                // Only while the body runs, so a late cancel never hits the next lease's statement.
                if c.running { c.canceller?.cancel() }
            }
        }
    }

    private func runOnThread<T>(_ body: (any SQLConnection) throws -> T) throws -> T {
        let conn = try openConnection()
        // The thread is not a task, so the lease's cancellation is tracked here.
        let cancelled = cancellation.withLock { c in
            if !c.requested { c.running = true }
            return c.requested
        }
        if cancelled { throw CancellationError() }
        defer {
            cancellation.withLock { c in
                c.running = false
                if c.requested { c.canceller?.forget() }
            }
        }
        return try body(conn)
    }

    /// The open connection, replacing one that broke.
    private func openConnection() throws -> any SQLConnection {
        if closed { throw DatabaseError(.poolClosed, message: "the database pool is closed") }
        if let connection, !connection.isBroken { return connection }
        if let broken = connection {
            logger.debug("reopening a broken connection", metadata: ["slot": "\(index)"])
            broken.close()
            connection = nil
            cancellation.withLock { $0.canceller = nil }
        }
        let opened = try driver.connect(to: url, logger: logger)
        connection = opened
        let made = opened.makeCanceller()
        cancellation.withLock { $0.canceller = made }
        return opened
    }

    /// Closes the connection on its thread as the thread's last job, and returns once
    /// the thread has exited: no C call of the connection runs after that.
    ///
    /// Called by the pool's close alone, never on the slot's own thread.
    func close() async {
        precondition(!thread.isCurrent, "a connection thread cannot wait for its own end")
        _ = await thread.runLast { [self] in closeOnThread() }
        // What is left of the thread is its exit: a short wait, worth blocking for.
        thread.join()
    }

    /// Closes the connection and ends the thread without waiting for either.
    func closeSoon() {
        thread.submit { [self] in closeOnThread() }
        thread.stop()
        thread.detach()
    }

    private func closeOnThread() {
        closed = true
        connection?.close()
        connection = nil
        cancellation.withLock { $0.canceller = nil }
    }
}
