import Crypto
import Foundation
import Logging
import StrataSQL

/// Idempotency keys in `idempotency_keys`: the same request under the same key runs once.
///
/// A key lives in a *scope* (the wallet services use one scope per wallet, see
/// ``WalletService``) and is bound to the *fingerprint* of the first request that used
/// it, the SHA-256 of a canonical description of that request. The protocol:
///
/// 1. ``claim(scope:key:fingerprint:)`` inserts the key `in_progress` and commits at once,
///    in its own short statement, so a concurrent request with the same key sees it.
/// 2. The operation runs in its own transaction and, in that transaction, calls
///    ``complete(_:response:on:)``: the key becomes `completed` with the response exactly
///    when the operation commits.
/// 3. If the operation fails, ``release(_:)`` deletes the key, so a retry may run.
///
/// A later claim with the same fingerprint gets the stored response of a completed key
/// (``IdempotencyClaim/completed(response:)``); one with another fingerprint gets
/// ``IdempotencyError/conflict(scope:key:)``; one while the key is `in_progress` gets
/// ``IdempotencyError/inProgress(scope:key:lockedUntil:)`` until the lock is older than
/// ``lockTimeout``, after which the key is taken over (the first request crashed, or
/// lost its connection before it could release the key).
///
/// `expires_at` is `created_at` + ``retention``: until then a completed key replays;
/// afterwards ``purgeExpired()`` may delete it.
///
/// ```swift
/// let store = IdempotencyStore(database: db, clock: SystemClock(), logger: logger)
/// let fp = IdempotencyStore.fingerprint(["operation": "charge", "run_id": "run-9"])
/// switch try await store.claim(scope: "wallet:acme", key: "req-1", fingerprint: fp) {
/// case .completed(let response): return try response.decode(WalletTransaction.self)
/// case .acquired(let lease):
///     do {
///         return try await db.transaction { conn in
///             let result = try work(conn)
///             try store.complete(lease, response: SQLJSON(encoding: result), on: conn)
///             return result
///         }
///     } catch {
///         await store.release(lease)
///         throw error
///     }
/// }
/// ```
public struct IdempotencyStore: Sendable {
    public let database: Database
    public let clock: any BillingClock
    /// Seconds an `in_progress` key stays locked to its first request. Default: 60.
    public let lockTimeout: Double
    /// Seconds a key is kept before ``purgeExpired()`` may delete it. Default: one day.
    public let retention: Double
    let logger: Logger

    /// The longest key the table holds.
    public static let maxKeyLength = 191

    public init(database: Database, clock: any BillingClock = SystemClock(), logger: Logger,
                lockTimeout: Double = 60, retention: Double = 86_400) {
        self.database = database
        self.clock = clock
        self.logger = logger
        self.lockTimeout = lockTimeout
        self.retention = retention
    }

    /// The fingerprint of a request: SHA-256, in lower-case hex, of its fields as a JSON
    /// object with sorted keys.
    ///
    /// Put in every field that makes two requests different (the operation included) and
    /// nothing that may differ between retries of one request (the actor, a request id).
    public static func fingerprint(_ request: [String: String]) -> String {
        let data = (try? JSONSerialization.data(withJSONObject: request, options: [.sortedKeys])) ?? Data()
        return SHA256.hash(data: data).lowercaseHex
    }

    /// Claims `key` in `scope` for a request, or finds the result of the same request.
    ///
    /// - Returns: ``IdempotencyClaim/acquired(_:)`` when this request should run (a new
    ///   key, or an expired lock taken over), ``IdempotencyClaim/completed(response:)`` for
    ///   a replay.
    /// - Throws: ``IdempotencyError`` `.conflict` for a different request under the key,
    ///   `.inProgress` while the first request runs, `.invalidKey`; ``DatabaseError``.
    public func claim(scope: String, key: String, fingerprint: String) async throws -> IdempotencyClaim {
        guard !key.isEmpty, key.count <= Self.maxKeyLength else { throw IdempotencyError.invalidKey(key) }
        // A key released or taken over between our insert and our read is claimed again;
        // a few rounds settle any race.
        for _ in 0..<5 {
            let now = clock.now()
            do {
                let id = try await database.withConnection { [retention] conn in
                    try conn.insertReturningID("""
                        INSERT INTO idempotency_keys
                            (scope, idempotency_key, request_fingerprint, response, state, locked_at, expires_at, created_at)
                        VALUES (\(scope), \(key), \(fingerprint), NULL, 'in_progress', \(now),
                                \(now.adding(seconds: retention)), \(now))
                        """)
                }
                return .acquired(IdempotencyLease(id: id, scope: scope, key: key, lockedAt: now))
            } catch let error as DatabaseError where error.category == .uniqueViolation {
                // The key exists: look at it below.
            }
            guard let existing = try await stored(scope: scope, key: key) else { continue }
            guard existing.fingerprint == fingerprint else { throw IdempotencyError.conflict(scope: scope, key: key) }
            if existing.state == "completed", let response = existing.response {
                logger.debug("idempotent replay", metadata: ["scope": "\(scope)", "key": "\(key)"])
                return .completed(response: response)
            }
            let lockedUntil = (existing.lockedAt ?? now).adding(seconds: lockTimeout)
            if now < lockedUntil {
                throw IdempotencyError.inProgress(scope: scope, key: key, lockedUntil: lockedUntil)
            }
            if let lease = try await takeOver(existing, scope: scope, key: key, at: now) {
                logger.notice("idempotency key taken over after its lock expired",
                              metadata: ["scope": "\(scope)", "key": "\(key)"])
                return .acquired(lease)
            }
        }
        throw IdempotencyError.inProgress(scope: scope, key: key, lockedUntil: clock.now().adding(seconds: lockTimeout))
    }

    /// Marks the key completed with the operation's response, on the operation's own
    /// connection and transaction, so the two commit together.
    ///
    /// - Throws: ``IdempotencyError/lockLost(scope:key:)`` when another request took the
    ///   key over (throwing rolls this operation back); ``DatabaseError``.
    public func complete(_ lease: IdempotencyLease, response: SQLJSON, on conn: any SQLConnection) throws {
        let updated = try conn.execute("""
            UPDATE idempotency_keys SET state = 'completed', response = \(response), locked_at = NULL
            WHERE id = \(lease.id) AND state = 'in_progress' AND locked_at = \(lease.lockedAt)
            """)
        guard updated.rowsAffected == 1 else { throw IdempotencyError.lockLost(scope: lease.scope, key: lease.key) }
    }

    /// Deletes the key after its operation failed, so a retry may run. Never throws: a key
    /// that cannot be deleted now is taken over once its lock expires.
    public func release(_ lease: IdempotencyLease) async {
        do {
            try await database.withConnection { conn in
                try conn.execute("""
                    DELETE FROM idempotency_keys
                    WHERE id = \(lease.id) AND state = 'in_progress' AND locked_at = \(lease.lockedAt)
                    """)
            }
        } catch {
            logger.warning("could not release an idempotency key; it frees itself when its lock expires",
                           metadata: ["scope": "\(lease.scope)", "key": "\(lease.key)", "error": "\(error)"])
        }
    }

    /// Deletes completed keys whose `expires_at` has passed.
    ///
    /// - Returns: the number of keys deleted.
    /// - Throws: ``DatabaseError``.
    @discardableResult
    public func purgeExpired() async throws -> Int64 {
        let now = clock.now()
        return try await database.withConnection { conn in
            try conn.execute("DELETE FROM idempotency_keys WHERE state = 'completed' AND expires_at < \(now)").rowsAffected
        }
    }

    private struct StoredKey {
        var id: Int64
        var fingerprint: String
        var state: String
        var response: SQLJSON?
        var lockedAt: SQLTimestamp?
    }

    private func stored(scope: String, key: String) async throws -> StoredKey? {
        try await database.withConnection { conn in
            try conn.queryFirst("""
                SELECT id, request_fingerprint, state, response, locked_at FROM idempotency_keys
                WHERE scope = \(scope) AND idempotency_key = \(key)
                """).map { row in
                StoredKey(id: try row.decode("id"), fingerprint: try row.decode("request_fingerprint"),
                          state: try row.decode("state"), response: try row.decode("response"),
                          lockedAt: try row.decode("locked_at"))
            }
        }
    }

    /// Moves an expired lock to this request; `nil` when another request moved it first.
    private func takeOver(_ existing: StoredKey, scope: String, key: String, at now: SQLTimestamp) async throws -> IdempotencyLease? {
        let updated = try await database.withConnection { conn in
            var q: SQLQuery = "UPDATE idempotency_keys SET locked_at = \(now) WHERE id = \(existing.id) AND state = 'in_progress'"
            if let old = existing.lockedAt {
                q.append(" AND locked_at = \(old)")
            } else {
                q.append(" AND locked_at IS NULL")
            }
            return try conn.execute(q).rowsAffected
        }
        return updated == 1 ? IdempotencyLease(id: existing.id, scope: scope, key: key, lockedAt: now) : nil
    }
}
