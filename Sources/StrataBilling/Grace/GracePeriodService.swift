import Logging
import StrataSQL

/// Grace periods after failed payments: open one, resolve it with a payment, decide
/// access from its dates, and expire ended ones in the daily sweep.
///
/// **Locking.** The subscription row is the lock of its billing state. Every operation
/// that changes a grace period (open, resolve, expire) first takes
/// `SELECT … FOR UPDATE` on the subscription, then touches grace-period rows, so they
/// queue per subscription in one lock order and never deadlock each other; at READ
/// COMMITTED (both backends) each sees what the previous one committed. The unique key
/// on `open_subscription_id` backs "at most one open" on its own as well.
///
/// **Payment against sweep.** The sweep expires with a conditional update
/// (`WHERE state = 'open' AND ends_at <= now`) and checks that it changed one row.
/// - The payment commits first: the period is `resolved`; the sweep, which waited for
///   the subscription's lock, finds it no longer open, changes nothing and writes no
///   audit row. The period stays resolved.
/// - The sweep commits first: the period is `expired` and the subscription
///   `restricted`; the payment, which waited for the lock, finds no open period
///   (returns `nil`) and still makes the subscription `active` again.
/// Either way the payment wins: the customer ends with full access.
///
/// **Access** is decided from the stored dates and the clock when asked: an open period
/// whose `ends_at` passed answers `.restricted` before any sweep ran.
///
/// ```swift
/// let grace = GracePeriodService(database: db, clock: SystemClock(), logger: logger)
/// _ = try await grace.paymentFailed(customer: "acme", reason: "card_declined", context: ctx)
/// try await grace.access(for: "acme")        // .grace(daysLeft: 7, endsAt: …)
/// _ = try await grace.paymentSucceeded(customer: "acme", context: ctx)
/// try await grace.access(for: "acme")        // .full
/// ```
public struct GracePeriodService: Sendable {
    /// Seven days, the grace a failed payment gives unless the service is told otherwise.
    public static let defaultDuration: Duration = .seconds(7 * 86_400)

    public let database: Database
    public let clock: any BillingClock
    /// How long a grace period lasts from the failed payment.
    public let duration: Duration
    let logger: Logger

    /// - Parameters:
    ///   - database: the billing database.
    ///   - clock: the time of every decision and every stored date.
    ///   - logger: where openings, resolutions and expiries are logged.
    ///   - duration: the length of a grace period, at least zero; default 7 days.
    public init(database: Database, clock: any BillingClock, logger: Logger, duration: Duration = GracePeriodService.defaultDuration) {
        precondition(duration >= .zero, "a grace period cannot end before it starts")
        self.database = database
        self.clock = clock
        self.logger = logger
        self.duration = duration
    }

    // MARK: Payments

    /// Opens a grace period on the customer's current subscription after a failed payment.
    ///
    /// The subscription becomes `past_due`; one transaction writes the period, the state
    /// and one `grace.open` audit row. When a period is already open (also one whose end
    /// passed, not yet swept) it is returned and nothing is written: a second failure
    /// neither opens another nor extends the first. A `restricted` subscription gets no
    /// new grace either: its latest (expired) period is returned, nothing written.
    /// Concurrent calls for one customer open exactly one period.
    ///
    /// - Parameters:
    ///   - customer: the customer's external id.
    ///   - reason: why the payment failed (`card_declined`, a provider's code …), at most 191 characters.
    ///   - context: who reports it, for the audit log.
    /// - Returns: the open period (new or existing), or the latest period of a restricted subscription.
    /// - Throws: ``GracePeriodError/unknownCustomer(_:)``, ``GracePeriodError/noSubscription(customer:)``,
    ///   ``GracePeriodError/subscriptionRestricted(subscriptionID:)``, or a ``DatabaseError``.
    public func paymentFailed(customer: String, reason: String, context: BillingContext) async throws -> GracePeriod {
        let now = clock.now()
        var attempt = 1
        while true {
            do {
                let outcome = try await database.transaction { conn in
                    try recordFailedPayment(conn, customer: customer, reason: reason, context: context, now: now)
                }
                log(outcome, customer: customer)
                return outcome.period
            } catch let error as DatabaseError where error.category == .uniqueViolation && attempt < 3 {
                // Another transaction opened one first (the unique key on open_subscription_id
                // said so); the next attempt reads and returns it.
                attempt += 1
            }
        }
    }

    /// What ``paymentFailed(customer:reason:context:)`` does, in the caller's transaction:
    /// for a webhook handler that records the invoice in the same one. The caller logs
    /// with `log(_:customer:)` once it committed, and runs the
    /// transaction again on a unique violation (a concurrent failure opened the period).
    ///
    /// - Throws: as ``paymentFailed(customer:reason:context:)``.
    func recordFailedPayment(_ conn: any SQLConnection, customer: String, reason: String, context: BillingContext,
                             now: SQLTimestamp) throws -> FailedPaymentOutcome {
        let endsAt = now.adding(microseconds: Self.microseconds(duration))
        let subscription = try Self.lockCurrentSubscription(conn, customer: customer)
        if let open = try GracePeriod.open(conn, subscriptionID: subscription.id) {
            return FailedPaymentOutcome(period: open, opened: false)
        }
        if subscription.state == .restricted {
            guard let latest = try GracePeriod.latest(conn, subscriptionID: subscription.id) else {
                throw GracePeriodError.subscriptionRestricted(subscriptionID: subscription.id)
            }
            return FailedPaymentOutcome(period: latest, opened: false)
        }
        let id = try conn.insertReturningID("""
            INSERT INTO grace_periods (customer_id, subscription_id, reason, started_at, ends_at, state, open_subscription_id)
            VALUES (\(subscription.customerID), \(subscription.id), \(reason), \(now), \(endsAt),
                    \(GracePeriodState.open.rawValue), \(subscription.id))
            """)
        try conn.execute("""
            UPDATE subscriptions SET state = \(SubscriptionState.pastDue.rawValue), updated_at = \(now)
            WHERE id = \(subscription.id)
            """)
        try AuditLog.record(conn, context: context, action: "grace.open", subjectType: "grace_period",
                            subjectID: "\(id)",
                            details: ["customer": customer, "subscription_id": Int(subscription.id), "reason": reason,
                                      "ends_at": endsAt.iso8601, "previous_state": subscription.state.rawValue],
                            at: now)
        return FailedPaymentOutcome(period: GracePeriod(id: id, customerID: subscription.customerID, subscriptionID: subscription.id,
                                                        reason: reason, startedAt: now, endsAt: endsAt, state: .open),
                                    opened: true)
    }

    /// Logs what a committed ``recordFailedPayment(_:customer:reason:context:now:)`` did.
    func log(_ outcome: FailedPaymentOutcome, customer: String) {
        guard outcome.opened else { return }
        logger.notice("grace period opened", metadata: [
            "customer": "\(customer)", "grace_period": "\(outcome.period.id)", "ends_at": "\(outcome.period.endsAt.iso8601)",
        ])
    }

    /// Resolves the open grace period of the customer's current subscription after a
    /// successful payment, and makes the subscription `active` again.
    ///
    /// Also restores a `restricted` subscription whose period the sweep already expired
    /// (the period stays `expired`, `nil` is returned): a payment always wins. One
    /// transaction writes the change and one audit row, `grace.resolve` (a period was
    /// resolved) or `subscription.reactivate` (only the state changed); when there is
    /// nothing to change nothing is written.
    ///
    /// - Parameters:
    ///   - customer: the customer's external id.
    ///   - context: who reports it, for the audit log.
    /// - Returns: the resolved period, or `nil` when none was open.
    /// - Throws: ``GracePeriodError/unknownCustomer(_:)``, ``GracePeriodError/noSubscription(customer:)``,
    ///   or a ``DatabaseError``.
    public func paymentSucceeded(customer: String, context: BillingContext) async throws -> GracePeriod? {
        let now = clock.now()
        let outcome = try await database.transaction { conn in
            try recordSucceededPayment(conn, customer: customer, context: context, now: now)
        }
        log(outcome, customer: customer)
        return outcome.resolved
    }

    /// What ``paymentSucceeded(customer:context:)`` does, in the caller's transaction: for
    /// a webhook handler that records the invoice in the same one. The caller logs with
    /// `log(_:customer:)` once it committed.
    ///
    /// - Throws: as ``paymentSucceeded(customer:context:)``.
    func recordSucceededPayment(_ conn: any SQLConnection, customer: String, context: BillingContext,
                                now: SQLTimestamp) throws -> SucceededPaymentOutcome {
        let subscription = try Self.lockCurrentSubscription(conn, customer: customer)
        var resolved: GracePeriod?
        if var open = try GracePeriod.open(conn, subscriptionID: subscription.id) {
            let changed = try conn.execute("""
                UPDATE grace_periods
                SET state = \(GracePeriodState.resolved.rawValue), resolved_at = \(now), open_subscription_id = NULL
                WHERE id = \(open.id) AND state = \(GracePeriodState.open.rawValue)
                """).rowsAffected
            if changed == 1 {
                open.state = .resolved
                open.resolvedAt = now
                resolved = open
            }
        }
        let reactivated = subscription.state == .pastDue || subscription.state == .restricted
        if reactivated {
            try conn.execute("""
                UPDATE subscriptions SET state = \(SubscriptionState.active.rawValue), updated_at = \(now)
                WHERE id = \(subscription.id)
                """)
        }
        let details: [String: any Sendable] = [
            "customer": customer, "subscription_id": Int(subscription.id),
            "previous_state": subscription.state.rawValue, "state": (reactivated ? SubscriptionState.active : subscription.state).rawValue,
        ]
        if let resolved {
            try AuditLog.record(conn, context: context, action: "grace.resolve", subjectType: "grace_period",
                                subjectID: "\(resolved.id)", details: details, at: now)
        } else if reactivated {
            try AuditLog.record(conn, context: context, action: "subscription.reactivate", subjectType: "subscription",
                                subjectID: "\(subscription.id)", details: details, at: now)
        }
        return SucceededPaymentOutcome(resolved: resolved, reactivated: reactivated)
    }

    /// Logs what a committed ``recordSucceededPayment(_:customer:context:now:)`` did.
    func log(_ outcome: SucceededPaymentOutcome, customer: String) {
        if let resolved = outcome.resolved {
            logger.notice("grace period resolved", metadata: ["customer": "\(customer)", "grace_period": "\(resolved.id)"])
        } else if outcome.reactivated {
            logger.notice("subscription reactivated", metadata: ["customer": "\(customer)"])
        }
    }

    // MARK: Access

    /// What the customer may use now: `.full`, `.grace(daysLeft:endsAt:)` or `.restricted`.
    ///
    /// Decided by ``BillingAccess/decide(subscriptionState:openGraceEndsAt:now:)`` from one
    /// read and `clock.now()` at this moment, not from what the last sweep did.
    /// - Throws: ``GracePeriodError/unknownCustomer(_:)``, ``GracePeriodError/noSubscription(customer:)``,
    ///   or a ``DatabaseError``.
    public func access(for customer: String) async throws -> BillingAccess {
        try await status(for: customer).access
    }

    /// The customer's current subscription, its open grace period and the access they give now.
    ///
    /// - Throws: as ``access(for:)``.
    public func status(for customer: String) async throws -> GraceStatus {
        try await database.withConnection { conn in
            guard let customerID = try Customers.find(conn, externalID: customer) else {
                throw GracePeriodError.unknownCustomer(customer)
            }
            // One statement: the subscription and its open period from one snapshot.
            guard let row = try conn.queryFirst("""
                SELECT s.id, s.customer_id, s.plan_id, s.state, s.current_period_start, s.current_period_end,
                       s.created_at, s.updated_at,
                       g.id AS grace_id, g.reason AS grace_reason, g.started_at AS grace_started_at, g.ends_at AS grace_ends_at
                FROM subscriptions s
                LEFT JOIN grace_periods g ON g.open_subscription_id = s.id
                WHERE s.customer_id = \(customerID) AND s.state <> \(SubscriptionState.canceled.rawValue)
                ORDER BY s.created_at DESC, s.id DESC
                LIMIT 1
                """) else {
                throw GracePeriodError.noSubscription(customer: customer)
            }
            let now = clock.now()
            let subscription = try row.decode(Subscription.self)
            var open: GracePeriod?
            if let id = try row.decode("grace_id", as: Int64?.self) {
                open = GracePeriod(id: id, customerID: subscription.customerID, subscriptionID: subscription.id,
                                   reason: try row.decode("grace_reason"), startedAt: try row.decode("grace_started_at"),
                                   endsAt: try row.decode("grace_ends_at"), state: .open)
            }
            let access = BillingAccess.decide(subscriptionState: subscription.state, openGraceEndsAt: open?.endsAt, now: now)
            return GraceStatus(subscription: subscription, openPeriod: open, access: access, checkedAt: now)
        }
    }

    // MARK: Sweep

    /// The daily job: expires every open grace period whose end passed and restricts its subscription.
    ///
    /// Each expiry is its own transaction (the subscription's lock, a conditional update
    /// that must change exactly one row, the subscription made `restricted`, one
    /// `grace.expire` audit row), so a failure loses at most one and the next run picks
    /// it up. Idempotent: a second run finds nothing and returns 0. Safe on several
    /// machines at once: sweeps racing for one period queue on its subscription, the
    /// first expires it, the others find it no longer open and change nothing. A payment
    /// that lands meanwhile wins (see the type's discussion).
    ///
    /// - Parameters:
    ///   - context: who runs it, for the audit log (`system:grace-sweep`).
    ///   - batchSize: candidates read per query.
    /// - Returns: the periods this run expired.
    /// - Throws: a ``DatabaseError``; what was expired before it stays expired.
    @discardableResult
    public func sweep(context: BillingContext, batchSize: Int = 100) async throws -> GraceSweepReport {
        precondition(batchSize > 0, "a sweep reads at least one candidate at a time")
        let now = clock.now()
        var expired: [GracePeriod] = []
        var skipped = 0
        var after: Int64 = 0
        while true {
            let candidates = try await database.withConnection { [after] conn in
                try conn.query("""
                    SELECT id, subscription_id FROM grace_periods
                    WHERE state = \(GracePeriodState.open.rawValue) AND ends_at <= \(now) AND id > \(after)
                    ORDER BY id LIMIT \(Int64(batchSize))
                    """).map { (id: try $0.decode("id", as: Int64.self), subscriptionID: try $0.decode("subscription_id", as: Int64.self)) }
            }
            for candidate in candidates {
                after = candidate.id
                if let period = try await expire(candidate.id, subscriptionID: candidate.subscriptionID, now: now, context: context) {
                    expired.append(period)
                } else {
                    skipped += 1
                }
            }
            if candidates.count < batchSize { break }
        }
        if !expired.isEmpty || skipped > 0 {
            logger.notice("grace sweep", metadata: ["expired": "\(expired.count)", "skipped": "\(skipped)"])
        }
        return GraceSweepReport(expired: expired, skipped: skipped)
    }

    /// Expires one period if it is still open and ended; `nil` when another transaction got there first.
    private func expire(_ id: Int64, subscriptionID: Int64, now: SQLTimestamp, context: BillingContext) async throws -> GracePeriod? {
        try await database.transaction { conn -> GracePeriod? in
            guard let subscription = try Subscription.lock(conn, id: subscriptionID) else { return nil }
            let changed = try conn.execute("""
                UPDATE grace_periods
                SET state = \(GracePeriodState.expired.rawValue), expired_at = \(now), open_subscription_id = NULL
                WHERE id = \(id) AND state = \(GracePeriodState.open.rawValue) AND ends_at <= \(now)
                """).rowsAffected
            guard changed == 1 else { return nil }
            let restricts = subscription.state == .active || subscription.state == .pastDue
            if restricts {
                try conn.execute("""
                    UPDATE subscriptions SET state = \(SubscriptionState.restricted.rawValue), updated_at = \(now)
                    WHERE id = \(subscriptionID)
                    """)
            }
            guard let period = try conn.queryFirst("SELECT \(GracePeriod.columns) FROM grace_periods WHERE id = \(id)")?
                .decode(GracePeriod.self) else {
                throw DatabaseError(.other, message: "grace period \(id) vanished while expiring")
            }
            try AuditLog.record(conn, context: context, action: "grace.expire", subjectType: "grace_period",
                                subjectID: "\(id)",
                                details: ["subscription_id": Int(subscriptionID), "customer_id": Int(period.customerID),
                                          "ends_at": period.endsAt.iso8601,
                                          "previous_state": subscription.state.rawValue,
                                          "state": (restricts ? SubscriptionState.restricted : subscription.state).rawValue],
                                at: now)
            return period
        }
    }

    // MARK: Helpers

    /// Finds the customer's current subscription and locks its row (see the type's discussion).
    private static func lockCurrentSubscription(_ conn: any SQLConnection, customer: String) throws -> Subscription {
        guard let customerID = try Customers.find(conn, externalID: customer) else {
            throw GracePeriodError.unknownCustomer(customer)
        }
        guard let current = try Subscription.current(conn, customerID: customerID),
              let locked = try Subscription.lock(conn, id: current.id), locked.state != .canceled else {
            throw GracePeriodError.noSubscription(customer: customer)
        }
        return locked
    }

    private static func microseconds(_ d: Duration) -> Int64 {
        let (seconds, attoseconds) = d.components
        return seconds * 1_000_000 + attoseconds / 1_000_000_000_000
    }
}
