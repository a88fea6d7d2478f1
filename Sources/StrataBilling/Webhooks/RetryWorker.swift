import Foundation
import Logging
import StrataSQL

/// Processes due webhook events through their handlers, retrying failures on a schedule
/// until they succeed or die.
///
/// Any number of workers, in one process or on many machines, can run over the same
/// database. A pass (``runDue(limit:)``) has three steps:
///
/// 1. **Claim**, in one short transaction: select due events — `processing` ones whose
///    lease has expired (their worker died or stalled), then `pending` ones whose
///    `next_attempt_at` has come, earliest first — with `FOR UPDATE SKIP LOCKED`, so
///    concurrent workers take disjoint sets without waiting for each other, and mark
///    them `processing` under this worker's lease (`lease_owner`, `lease_expires_at =
///    now + lease`).
/// 2. **Handle**, outside any transaction, the claimed events concurrently, so each
///    starts well within its lease. A handler is never run inside a database
///    transaction: it may call other services or the network.
/// 3. **Finish** each event in its own transaction, which only counts if the lease is
///    still this claim's (`WHERE id = ? AND lease_owner = ? AND lease_expires_at = ?
///    AND state = 'processing'`). If the lease expired and another worker took the
///    event over, the late result is refused and logged: the new owner decides. A
///    success marks the event `processed`; a failure records the error and schedules
///    the next attempt from the ``WebhookRetryPolicy`` (±10 % jitter from the injected
///    random source), or marks the event `dead` after the last. Every finished attempt
///    writes a `webhook_attempts` row, a log line and a `webhook.attempt` audit row
///    (and `webhook.dead` for the last), in the finish transaction.
///
/// Handlers therefore run at least once per event and, rarely (a lease lost mid-run), more
/// than once: they must be idempotent. Claiming is lease bookkeeping and writes no audit
/// row; a lease taken over is logged as a warning and does not count as an attempt.
///
/// ```swift
/// let worker = RetryWorker(id: "worker-1", database: db, registry: registry,
///                          clock: SystemClock(), logger: logger)
/// let summary = try await worker.runDue(limit: 20)
/// ```
public struct RetryWorker: Sendable {
    /// The lease owner this worker writes; unique per running worker.
    public let id: String
    public let database: Database
    public let registry: WebhookHandlerRegistry
    public let clock: any BillingClock
    public let logger: Logger
    /// Seconds a claim holds an event before another worker may take it over.
    public let leaseDuration: Double
    public let policy: WebhookRetryPolicy
    /// A value in `0..<1` per failed attempt, for the jitter.
    public let random: @Sendable () -> Double
    /// Attempts by what they recorded (see ``WebhookMetrics``).
    let metrics: WebhookMetrics

    /// The default lease: a minute.
    public static let defaultLeaseDuration: Double = 60
    static let maxErrorLength = 2_000

    /// - Parameters:
    ///   - id: the worker's name, at most 191 characters, unique among running workers
    ///     (`host:pid` does).
    ///   - leaseDuration: seconds a claim lasts; make it longer than the slowest handler.
    ///   - policy: when failures are retried.
    ///   - random: values in `0..<1` for the jitter; tests pass a fixed one.
    public init(id: String, database: Database, registry: WebhookHandlerRegistry, clock: any BillingClock,
                logger: Logger, leaseDuration: Double = RetryWorker.defaultLeaseDuration,
                policy: WebhookRetryPolicy = .standard,
                random: @escaping @Sendable () -> Double = { Double.random(in: 0..<1) }) {
        precondition(!id.isEmpty && id.count <= 191, "a worker id is 1 to 191 characters")
        precondition(leaseDuration > 0, "a lease lasts a positive time")
        self.id = id
        self.database = database
        self.registry = registry
        self.clock = clock
        self.logger = logger
        self.leaseDuration = leaseDuration
        self.policy = policy
        self.random = random
        self.metrics = WebhookMetrics()
    }

    /// Claims up to `limit` due events, runs their handlers and records each result.
    ///
    /// - Returns: counts and each event's result. An attempt whose result could not be
    ///   written is logged and counted as ``RunSummary/unrecorded``, not thrown: the
    ///   others' results stand.
    /// - Throws: a `DatabaseError` when claiming fails (nothing was claimed).
    public func runDue(limit: Int = 10) async throws -> RunSummary {
        let claims = try await claim(limit: limit)
        var summary = RunSummary()
        summary.claimed = claims.count
        summary.reclaimed = claims.filter(\.reclaimed).count
        await withTaskGroup(of: (Int64, WebhookAttemptResult?).self) { group in
            for claim in claims {
                group.addTask {
                    do {
                        return (claim.event.id, try await process(claim))
                    } catch {
                        logger.error("webhook attempt not recorded", metadata: [
                            "id": "\(claim.event.id)", "event_id": "\(claim.event.eventID)", "worker": "\(id)",
                            "error": "\(error)",
                        ])
                        return (claim.event.id, nil)
                    }
                }
            }
            for await (id, result) in group {
                if let result { summary.add(id, result) } else { summary.unrecorded += 1 }
            }
        }
        return summary
    }

    /// Claims up to `limit` due events under this worker's lease, in one transaction.
    ///
    /// Due means `processing` with an expired lease (taken first), or `pending` with
    /// `next_attempt_at <= now`, the earliest first. Rows another worker is claiming at
    /// the same moment are skipped, not waited for.
    /// Due events read for each one claimed where row locks hold on one node only (a
    /// Galera node), of which a random sample is claimed.
    static let candidatesPerClaim = 3

    public func claim(limit: Int) async throws -> [WebhookClaim] {
        guard limit > 0 else { return [] }
        let now = clock.now()
        let expires = now.adding(seconds: leaseDuration)
        let worker = id
        let claims = try await database.transaction { conn -> [WebhookClaim] in
            // Two statements, each an ordered range of the (state, next_attempt_at) index,
            // so the server reads and locks only the rows it returns: one statement with an
            // OR would sort all due rows first, and MySQL would keep every one of them
            // locked, hiding them from the other workers. Expired leases go first, so a
            // backlog of pending events cannot starve them.
            //
            //
            // On one server `SKIP LOCKED` keeps workers apart: each locks the earliest rows
            // nobody else holds. On a Galera node a row lock holds only on that node, so
            // workers on other nodes read the same earliest rows, and all but one of their
            // claims would fail certification (1213) and run again, round after round:
            // there each worker reads more and claims a random `limit` of them.
            let skipLocked = conn.dialect.forUpdateSkipLocked
            let candidates = conn.dialect.rowLocksHoldClusterWide ? limit : limit * Self.candidatesPerClaim
            var rows = try conn.query("""
                SELECT \(WebhookEvent.columns) FROM webhook_events
                WHERE state = \(WebhookEventState.processing.rawValue) AND lease_expires_at <= \(now)
                ORDER BY next_attempt_at, id LIMIT \(Int64(candidates)) \(unsafeRaw: skipLocked)
                """)
            if rows.count < candidates {
                rows += try conn.query("""
                    SELECT \(WebhookEvent.columns) FROM webhook_events
                    WHERE state = \(WebhookEventState.pending.rawValue) AND next_attempt_at <= \(now)
                    ORDER BY next_attempt_at, id LIMIT \(Int64(candidates - rows.count)) \(unsafeRaw: skipLocked)
                    """)
            }
            var events = try rows.map { try $0.decode(WebhookEvent.self) }
            guard !events.isEmpty else { return [] }
            if events.count > limit {
                // Expired leases (read first) stay first; the sample keeps the order.
                let expired = events.prefix { $0.state == .processing }
                if expired.count >= limit {
                    events = Array(expired.prefix(limit))
                } else {
                    let chosen = Set(events.indices.dropFirst(expired.count).shuffled().prefix(limit - expired.count))
                    events = Array(expired) + events.indices.filter { chosen.contains($0) }.map { events[$0] }
                }
            }
            // Conditional: an event is claimed only while it is still due. Under the row
            // locks above it always is; where there are none (a Galera node), another
            // worker of this node may have claimed it since the read, and then the rows
            // this worker really got are read back.
            let claimed = try conn.execute("""
                UPDATE webhook_events SET state = \(WebhookEventState.processing.rawValue), lease_owner = \(worker),
                       lease_expires_at = \(expires), updated_at = \(now)
                WHERE id IN (\(list: events.map(\.id)))
                  AND ((state = \(WebhookEventState.processing.rawValue) AND lease_expires_at <= \(now))
                       OR (state = \(WebhookEventState.pending.rawValue) AND next_attempt_at <= \(now)))
                """).rowsAffected
            if claimed < Int64(events.count) {
                let mine = Set(try conn.query("""
                    SELECT id FROM webhook_events
                    WHERE id IN (\(list: events.map(\.id))) AND lease_owner = \(worker) AND lease_expires_at = \(expires)
                    """).map { try $0.decode("id", as: Int64.self) })
                events = events.filter { mine.contains($0.id) }
            }
            return events.map { before in
                var event = before
                event.state = .processing
                event.leaseOwner = worker
                event.leaseExpiresAt = expires
                return WebhookClaim(event: event, worker: worker, claimedAt: now, leaseExpiresAt: expires,
                                    reclaimed: before.state == .processing)
            }
        }
        for claim in claims where claim.reclaimed {
            logger.warning("webhook lease expired, event taken over", metadata: [
                "id": "\(claim.event.id)", "event_id": "\(claim.event.eventID)", "worker": "\(worker)",
            ])
        }
        return claims
    }

    /// Runs the handler of a claimed event, then records the attempt with ``finish(_:error:)``.
    ///
    /// - Returns: what was recorded, ``WebhookAttemptResult/refused`` when the lease was lost.
    /// - Throws: a `DatabaseError` when the result could not be written (the handler did run).
    public func process(_ claim: WebhookClaim) async throws -> WebhookAttemptResult {
        var failure: (any Error)?
        if let handler = registry.handler(for: claim.event.type) {
            do {
                try await handler(claim.event)
            } catch {
                failure = error
            }
        } else {
            failure = WebhookError.noHandler(type: claim.event.type)
        }
        return try await finish(claim, error: failure)
    }

    /// Records the end of an attempt: `error` `nil` for a success.
    ///
    /// Only counts while the claim's lease is still the event's; otherwise nothing is
    /// written and the result is ``WebhookAttemptResult/refused``.
    public func finish(_ claim: WebhookClaim, error: (any Error)?) async throws -> WebhookAttemptResult {
        let now = max(clock.now(), claim.claimedAt)
        let event = claim.event
        let attempt = event.attempts + 1
        let errorText = error.map { Self.describe($0) }
        let result: WebhookAttemptResult
        if let errorText {
            if let delay = policy.delay(afterFailedAttempt: attempt, random: random()) {
                result = .retryScheduled(at: now.adding(seconds: delay))
            } else {
                result = .dead(error: errorText)
            }
        } else {
            result = .processed
        }
        let worker = id
        let context = BillingContext(actor: "system:webhook-worker:\(worker)", requestID: event.reference)
        let recorded = try await database.transaction { conn -> WebhookAttemptResult in
            let state: WebhookEventState, nextAttemptAt: SQLTimestamp?, processedAt: SQLTimestamp?
            switch result {
            case .processed: (state, nextAttemptAt, processedAt) = (.processed, nil, now)
            case .retryScheduled(let at): (state, nextAttemptAt, processedAt) = (.pending, at, nil)
            case .dead, .refused: (state, nextAttemptAt, processedAt) = (.dead, nil, nil)
            }
            let updated = try conn.execute("""
                UPDATE webhook_events
                SET state = \(state.rawValue), attempts = \(attempt), next_attempt_at = \(nextAttemptAt),
                    lease_owner = NULL, lease_expires_at = NULL, last_error = \(errorText),
                    processed_at = \(processedAt), updated_at = \(now)
                WHERE id = \(event.id) AND lease_owner = \(worker) AND lease_expires_at = \(claim.leaseExpiresAt)
                  AND state = \(WebhookEventState.processing.rawValue)
                """)
            // Another worker took the event over after this lease expired: its result stands.
            guard updated.rowsAffected == 1 else { return .refused }
            let outcome: WebhookAttemptOutcome = errorText == nil ? .succeeded : .failed
            // Numbered on from the event's history (a replayed event's attempts go on at 7),
            // in the same statement; the event row's lock, taken above, serialises it. The
            // derived table keeps the binds out of the aggregate's select list, which
            // MySQL's ONLY_FULL_GROUP_BY refuses.
            try conn.execute("""
                INSERT INTO webhook_attempts (event_id, attempt_number, started_at, finished_at, outcome, error, worker)
                SELECT \(event.id), next_number.n, \(claim.claimedAt), \(now), \(outcome.rawValue), \(errorText), \(worker)
                FROM (SELECT COALESCE(MAX(attempt_number), 0) + 1 AS n FROM webhook_attempts WHERE event_id = \(event.id)) next_number
                """)
            var details: [String: any Sendable] = [
                "provider": event.provider, "event_id": event.eventID, "type": event.type, "attempt": attempt,
                "outcome": outcome.rawValue, "worker": worker, "state": state.rawValue,
            ]
            if let errorText { details["error"] = errorText }
            if let nextAttemptAt { details["next_attempt_at"] = nextAttemptAt.iso8601 }
            try AuditLog.record(conn, context: context, action: "webhook.attempt", subjectType: "webhook_event",
                                subjectID: "\(event.id)", details: details, at: now)
            if state == .dead {
                try AuditLog.record(conn, context: context, action: "webhook.dead", subjectType: "webhook_event",
                                    subjectID: "\(event.id)", details: [
                                        "provider": event.provider, "event_id": event.eventID, "type": event.type,
                                        "attempts": attempt, "last_error": errorText ?? "",
                                    ], at: now)
            }
            return result
        }
        metrics.record(recorded)
        log(recorded, claim: claim, attempt: attempt, error: errorText)
        return recorded
    }

    /// When the next event falls due (a pending one's next attempt, or a lease's
    /// expiry), or `nil` when nothing waits: how long a worker loop may sleep.
    public func nextDue() async throws -> SQLTimestamp? {
        try await database.withConnection { conn in
            let row = try conn.queryFirst("""
                SELECT (SELECT MIN(next_attempt_at) FROM webhook_events WHERE state = \(WebhookEventState.pending.rawValue)) AS pending_at,
                       (SELECT MIN(lease_expires_at) FROM webhook_events WHERE state = \(WebhookEventState.processing.rawValue)) AS lease_at
                """)
            let pending: SQLTimestamp? = try row?.decode("pending_at")
            let lease: SQLTimestamp? = try row?.decode("lease_at")
            return [pending, lease].compactMap { $0 }.min()
        }
    }

    private func log(_ result: WebhookAttemptResult, claim: WebhookClaim, attempt: Int, error: String?) {
        let event = claim.event
        var metadata: Logger.Metadata = [
            "id": "\(event.id)", "provider": "\(event.provider)", "event_id": "\(event.eventID)",
            "type": "\(event.type)", "attempt": "\(attempt)", "worker": "\(id)",
        ]
        if let error { metadata["error"] = "\(error)" }
        switch result {
        case .processed:
            logger.info("webhook attempt succeeded", metadata: metadata)
        case .retryScheduled(let at):
            metadata["next_attempt_at"] = "\(at.iso8601)"
            logger.warning("webhook attempt failed, retry scheduled", metadata: metadata)
        case .dead:
            logger.error("webhook attempt failed, event is dead", metadata: metadata)
        case .refused:
            metadata["lease_expires_at"] = "\(claim.leaseExpiresAt.iso8601)"
            logger.warning("webhook attempt result refused: the lease expired and the event was taken over", metadata: metadata)
        }
    }

    /// The error as one line of at most ``maxErrorLength`` characters, for `last_error`.
    static func describe(_ error: any Error) -> String {
        let text = "\(error)".split(whereSeparator: \.isNewline).joined(separator: " ")
        return text.count <= maxErrorLength ? text : String(text.prefix(maxErrorLength - 1)) + "…"
    }
}
