import Foundation
import StrataSQL

/// Keeps two migration runs on one database apart: acquire with a timeout, renew,
/// release, and say who holds it.
///
/// Two implementations: ``SessionMigrationLock`` (PostgreSQL advisory lock, MySQL
/// `GET_LOCK`), which the server releases when the session ends, for a single server;
/// and ``TableMigrationLock``, a row in a table of Strata's with a lease, for where a
/// session lock does not hold (a Galera node, a transaction pooler). Which one a run
/// takes is decided in one place, ``MigrationLockChoice``.
///
/// A lock with a ``lease`` is kept on a connection of its own: the runner renews it
/// there every third of the lease while the run lasts, and every write to the history
/// confirms, in the write's transaction, that the run still holds it
/// (``confirmHeld(_:)``), so a run whose lease was taken over cannot write after that.
public protocol MigrationLock: Sendable {
    /// Which kind of lock this is, for messages, `status` and `--json`.
    var kind: MigrationLockKind { get }

    /// How long a hold lasts unless renewed; `nil` for a lock the session holds for
    /// as long as it lives.
    var lease: Duration? { get }

    /// Waits up to `timeout` for the lock, and no longer than the run is wanted.
    ///
    /// - Parameters:
    ///   - onWait: called once, when the lock is not free at the first try.
    ///   - isCancelled: asked while waiting; `true` gives up at once.
    /// - Throws: ``MigrationError/lockTimeout(_:)`` when another run still holds it,
    ///   ``MigrationError/interrupted(_:)`` when the run was cancelled meanwhile.
    func acquire(_ conn: any SQLConnection, timeout: Duration, onWait: () -> Void, isCancelled: () -> Bool) throws

    /// Extends the hold by a lease from now. Nothing for a session lock.
    ///
    /// - Throws: ``MigrationError/lockLost(_:)`` when the lock is no longer this run's,
    ///   or a ``DatabaseError`` when the server could not be asked.
    func renew(_ conn: any SQLConnection) throws

    /// Checks, inside the caller's open transaction, that the run still holds the lock,
    /// in a way that conflicts with a takeover committed meanwhile. Nothing for a
    /// session lock.
    ///
    /// - Throws: ``MigrationError/lockLost(_:)`` when another run took it over (or it
    ///   was removed): the caller's transaction must roll back.
    func confirmHeld(_ conn: any SQLConnection) throws

    /// Gives the lock up; errors are swallowed (the server, or the lease, ends it anyway).
    func release(_ conn: any SQLConnection)

    /// Who holds the lock now, where the server can tell; `nil` when it is free or the
    /// server cannot tell cheaply.
    ///
    /// - Throws: ``DatabaseError``.
    func holder(_ conn: any SQLConnection) throws -> MigrationLockHolder?
}

extension MigrationLock {
    public var lease: Duration? { nil }
    public func renew(_ conn: any SQLConnection) throws {}
    public func confirmHeld(_ conn: any SQLConnection) throws {}
    public func holder(_ conn: any SQLConnection) throws -> MigrationLockHolder? { nil }
}

/// The kinds of migration lock.
public enum MigrationLockKind: String, Sendable, Hashable, CaseIterable {
    /// PostgreSQL advisory lock, MySQL `GET_LOCK`: held by the run's session.
    case session
    /// A row in `strata_migration_lock`, with a lease the run renews.
    case table
}

/// Who holds a migration lock, as `migrate status` shows it.
public struct MigrationLockHolder: Sendable, Hashable {
    public var kind: MigrationLockKind
    /// The lock's name: `strata:<database>:<history table>`.
    public var name: String
    /// The holding run's random token (table lock); `nil` where the server does not say.
    public var owner: String?
    /// The machine the holding run is on.
    public var host: String?
    /// The holding process (table lock), or the server session (session lock).
    public var pid: Int64?
    public var takenAt: SQLTimestamp?
    /// When the lease ends unless renewed (table lock).
    public var expiresAt: SQLTimestamp?
    /// Whether the lease had ended by the server's clock when it was read: another run
    /// may take it over, and `strata migrate unlock` may remove it.
    public var isExpired: Bool

    public init(kind: MigrationLockKind, name: String, owner: String? = nil, host: String? = nil, pid: Int64? = nil,
                takenAt: SQLTimestamp? = nil, expiresAt: SQLTimestamp? = nil, isExpired: Bool = false) {
        self.kind = kind
        self.name = name
        self.owner = owner
        self.host = host
        self.pid = pid
        self.takenAt = takenAt
        self.expiresAt = expiresAt
        self.isExpired = isExpired
    }

    /// `run 3f2a… (host ci-7, pid 4242, taken at …, expires at …)`, for messages.
    public var summary: String {
        var parts: [String] = []
        if let host { parts.append("host \(host)") }
        if let pid { parts.append("pid \(pid)") }
        if let takenAt { parts.append("taken at \(takenAt.iso8601)") }
        if let expiresAt { parts.append("\(isExpired ? "expired" : "expires") at \(expiresAt.iso8601)") }
        let who = owner.map { "run \($0)" } ?? "a \(kind.rawValue) lock holder"
        return parts.isEmpty ? who : "\(who) (\(parts.joined(separator: ", ")))"
    }
}
