import Foundation
import Logging
import StrataSQL

/// Renews a leased migration lock every third of its lease, on a thread and a
/// connection of its own, while the run goes on on its connection.
///
/// A renewal that finds the lock gone sets ``lost``: the run asks it before each
/// statement (with its cancellation) and stops there. A renewal that fails for another
/// reason (a dropped connection) is logged and tried again at the next tick, on a new
/// connection when the old one broke; the lease covers two missed ticks.
final class LockLeaseKeeper: @unchecked Sendable {
    private let lock: any MigrationLock
    private let interval: Duration
    private let reconnect: () throws -> any SQLConnection
    private let logger: Logger
    private let condition = NSCondition()
    /// Guarded by `condition`.
    private var stopping = false
    private var lostError: MigrationError?
    private var connection: any SQLConnection
    private let finished = DispatchSemaphore(value: 0)

    /// - Parameters:
    ///   - connection: the lock's own connection; the keeper uses it until ``stop()``
    ///     returns, then the caller may again.
    ///   - reconnect: opens a new connection when that one breaks.
    init(lock: any MigrationLock, lease: Duration, connection: any SQLConnection,
         reconnect: @escaping () throws -> any SQLConnection, logger: Logger) {
        self.lock = lock
        self.interval = lease / 3
        self.connection = connection
        self.reconnect = reconnect
        self.logger = logger
    }

    /// Why the run no longer holds the lock, once a renewal found it gone.
    var lost: MigrationError? {
        condition.lock()
        defer { condition.unlock() }
        return lostError
    }

    func start() {
        let thread = Thread { [self] in
            defer { finished.signal() }
            loop()
        }
        thread.name = "strata-lock-lease"
        thread.start()
    }

    /// Stops renewing and returns once the thread is done with the connection.
    ///
    /// - Returns: the connection the lock is on now (a new one if the first broke).
    @discardableResult
    func stop() -> any SQLConnection {
        condition.lock()
        stopping = true
        condition.signal()
        condition.unlock()
        finished.wait()
        return connection
    }

    private func loop() {
        while true {
            condition.lock()
            let deadline = Date(timeIntervalSinceNow: interval.seconds)
            while !stopping && condition.wait(until: deadline) {}
            let stop = stopping
            condition.unlock()
            if stop { return }
            do {
                if connection.isBroken { connection = try reconnect() }
                try lock.renew(connection)
            } catch let error as MigrationError {
                logger.error("the migration lock was lost; the run stops before its next statement", metadata: ["error": "\(error)"])
                condition.lock()
                lostError = error
                condition.unlock()
                return
            } catch {
                logger.warning("could not renew the migration lock's lease; trying again", metadata: ["error": "\(error)"])
            }
        }
    }
}
