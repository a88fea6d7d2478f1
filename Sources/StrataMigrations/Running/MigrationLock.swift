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
        switch try conn.waitForLock(name: name, timeout: timeout, onWait: onWait, isCancelled: isCancelled) {
        case .acquired: return
        case .cancelled:
            throw MigrationError.interrupted("canceled while waiting for the migration lock '\(name)'; nothing ran")
        case .timedOut:
            throw MigrationError.lockTimeout("another migration run held the lock '\(name)' for longer than \(timeout.seconds) s (--lock-timeout)")
        }
    }

    public func release(_ conn: any SQLConnection) {
        try? conn.releaseLock(name: name)
    }
}
