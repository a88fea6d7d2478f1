import Foundation
import StrataSQL

/// Keeps two migration runs on one database apart: acquire with a timeout, release.
///
/// The default is a session lock (PostgreSQL advisory lock, MySQL `GET_LOCK`), released
/// by the server if the process dies. Session locks do not hold through PgBouncer in
/// transaction pooling nor across Galera nodes; a lock row in a table of Strata's fits
/// there, and is another implementation of this protocol.
public protocol MigrationLock: Sendable {
    /// Waits up to `timeout` for the lock, and no longer than the run is wanted.
    ///
    /// - Parameters:
    ///   - onWait: called once, when the lock is not free at the first try.
    ///   - isCancelled: asked while waiting; `true` gives up at once.
    /// - Throws: ``MigrationError/lockTimeout(_:)`` when another run still holds it,
    ///   ``MigrationError/interrupted(_:)`` when the run was cancelled meanwhile.
    func acquire(_ conn: any SQLConnection, timeout: Duration, onWait: () -> Void, isCancelled: () -> Bool) throws
    func release(_ conn: any SQLConnection)
}

/// A lock held by the session of the connection that runs the migrations.
public struct SessionMigrationLock: MigrationLock {
    public let name: String

    /// - Parameter name: the lock's name; one per database and history table.
    public init(name: String) {
        self.name = name
    }

    public func acquire(_ conn: any SQLConnection, timeout: Duration, onWait: () -> Void, isCancelled: () -> Bool) throws {
        let deadline = ContinuousClock.now + timeout
        var waited = false
        var pause = Duration.milliseconds(20)
        while true {
            if try conn.tryLock(name: name) { return }
            if isCancelled() {
                throw MigrationError.interrupted("canceled while waiting for the migration lock '\(name)'; nothing ran")
            }
            if ContinuousClock.now >= deadline {
                throw MigrationError.lockTimeout("another migration run held the lock '\(name)' for longer than \(timeout.seconds) s (--lock-timeout)")
            }
            if !waited {
                waited = true
                onWait()
            }
            // The connection's own thread waits; no other work is queued on it.
            Thread.sleep(forTimeInterval: pause.seconds)
            pause = min(pause * 2, .milliseconds(250))
        }
    }

    public func release(_ conn: any SQLConnection) {
        try? conn.releaseLock(name: name)
    }
}
