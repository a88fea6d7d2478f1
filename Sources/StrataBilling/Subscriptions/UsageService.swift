import Logging
import StrataSQL

/// Counts usage per subscription and period against the plan's limit, and fires the
/// 80 % and 100 % alerts exactly once per subscription and period.
///
/// Each ``recordUsage(subscriptionID:quantity:context:)`` runs in one transaction:
/// it adds the quantity to the period's counter with `UPDATE … SET used = used + q`
/// (creating the counter first when the period has none, through the dialect's
/// "do nothing" upsert), which row-locks the counter until commit. So the calls of one
/// subscription and period queue on that row, each sees the count every earlier call
/// committed, and an alert decided while holding the lock cannot be decided twice. The
/// unique key on (subscription, period, threshold) stays the last word: an insert that
/// hits it (a writer outside this service) is rolled back to a savepoint, counted as
/// "already fired", and is not an error. A call that rolls back takes its usage and its
/// alert with it, so the next call that reaches the threshold fires it.
///
/// The current period is the subscription's; once the clock passed its end, the first
/// recording moves it forward to the period containing now (counted from the
/// subscription's start), which starts a fresh counter and fresh alerts.
///
/// ```swift
/// let usage = UsageService(database: db, clock: SystemClock(), logger: logger)
/// let r = try await usage.recordUsage(subscriptionID: sub.id, quantity: 120, context: ctx)
/// print(r.metrics.percentage, r.fired)   // 81.2 [.warning]
/// ```
public struct UsageService: Sendable {
    public let database: Database
    public let clock: any BillingClock
    private let logger: Logger

    public init(database: Database, clock: any BillingClock, logger: Logger) {
        self.database = database
        self.clock = clock
        self.logger = logger
    }

    /// Adds `quantity` units to the subscription's current period and fires the alerts it reaches.
    ///
    /// One transaction updates the counter, inserts the alerts that fired, and writes one
    /// `usage.record` audit row. Usage of a `restricted` or `past_due` subscription is
    /// still counted: it is a fact, and access is decided by ``GracePeriodService``.
    ///
    /// - Parameters:
    ///   - subscriptionID: the subscription.
    ///   - quantity: units used, at least 1.
    ///   - context: who asks, for the audit log.
    /// - Returns: the period's metrics after this call and the alerts this call fired.
    /// - Throws: ``SubscriptionError/invalidQuantity(_:)``, ``SubscriptionError/unknownSubscription(_:)``,
    ///   ``SubscriptionError/subscriptionCanceled(_:)``,
    ///   ``SubscriptionError/usageOverflow(subscriptionID:quantity:)``, or a ``DatabaseError``.
    public func recordUsage(subscriptionID: Int64, quantity: Int64, context: BillingContext) async throws -> UsageRecording {
        guard quantity > 0 else { throw SubscriptionError.invalidQuantity(quantity) }
        let now = clock.now()
        let recording = try await database.transaction { conn -> UsageRecording in
            let (subscription, plan) = try Self.subscriptionAndPlan(conn, id: subscriptionID)
            guard subscription.state != .canceled else { throw SubscriptionError.subscriptionCanceled(subscriptionID) }
            let period = try Self.currentPeriod(conn, subscription: subscription, plan: plan, now: now)
            let used = try Self.add(conn, quantity: quantity, subscriptionID: subscriptionID, periodStart: period.start, now: now)

            // The counter row is ours until commit: the alerts read here are every alert of the period.
            var alerts = try UsageAlert.all(conn, subscriptionID: subscriptionID, periodStart: period.start)
            var fired: [UsageThreshold] = []
            for threshold in UsageThreshold.allCases
            where threshold.isReached(used: used, limit: plan.usageLimit) && !alerts.contains(where: { $0.threshold == threshold }) {
                if try Self.insertAlert(conn, threshold: threshold, subscriptionID: subscriptionID, periodStart: period.start, now: now) {
                    fired.append(threshold)
                    alerts.append(UsageAlert(threshold: threshold, periodStart: period.start, firedAt: now))
                }
            }
            alerts.sort { $0.threshold < $1.threshold }

            try AuditLog.record(conn, context: context, action: "usage.record", subjectType: "subscription",
                                subjectID: "\(subscriptionID)",
                                details: ["quantity": Int(quantity), "used": Int(used), "limit": Int(plan.usageLimit),
                                          "period_start": period.start.iso8601, "alerts_fired": fired.map(\.percent),
                                          "period_moved": period.moved],
                                at: now)
            let metrics = UsageMetrics(subscriptionID: subscriptionID, periodStart: period.start, periodEnd: period.end,
                                       used: used, limit: plan.usageLimit, alerts: alerts)
            return UsageRecording(metrics: metrics, fired: fired)
        }
        for threshold in recording.fired {
            logger.notice("usage alert fired", metadata: [
                "subscription": "\(subscriptionID)", "threshold": "\(threshold.percent)",
                "used": "\(recording.metrics.used)", "limit": "\(recording.metrics.limit)",
            ])
        }
        return recording
    }

    /// The usage of the subscription's current period as of now: used, limit, the
    /// bounded percentage and the alerts fired. Reads only.
    ///
    /// - Throws: ``SubscriptionError/unknownSubscription(_:)``, or a ``DatabaseError``.
    public func usage(subscriptionID: Int64) async throws -> UsageMetrics {
        let now = clock.now()
        return try await database.withConnection { conn in
            let (subscription, plan) = try Self.subscriptionAndPlan(conn, id: subscriptionID)
            var period = (start: subscription.currentPeriodStart, end: subscription.currentPeriodEnd)
            if subscription.state != .canceled && now >= period.end {
                period = plan.interval.period(containing: now, anchor: subscription.createdAt)
            }
            let used: Int64 = try conn.queryFirst("""
                SELECT used FROM usage_counters WHERE subscription_id = \(subscriptionID) AND period_start = \(period.start)
                """)?.decode("used") ?? 0
            let alerts = try UsageAlert.all(conn, subscriptionID: subscriptionID, periodStart: period.start)
            return UsageMetrics(subscriptionID: subscriptionID, periodStart: period.start, periodEnd: period.end,
                                used: used, limit: plan.usageLimit, alerts: alerts)
        }
    }

    // MARK: Steps of a recording, on the transaction's connection

    private static func subscriptionAndPlan(_ conn: any SQLConnection, id: Int64) throws -> (Subscription, Plan) {
        guard let subscription = try Subscription.find(conn, id: id) else { throw SubscriptionError.unknownSubscription(id) }
        guard let plan = try Plan.find(conn, id: subscription.planID) else {
            throw DatabaseError(.foreignKeyViolation, message: "subscription \(id) names plan \(subscription.planID), which does not exist")
        }
        return (subscription, plan)
    }

    /// The period to count in; moves the subscription's stored period forward once the clock passed its end.
    private static func currentPeriod(_ conn: any SQLConnection, subscription: Subscription, plan: Plan,
                                      now: SQLTimestamp) throws -> (start: SQLTimestamp, end: SQLTimestamp, moved: Bool) {
        guard now >= subscription.currentPeriodEnd else {
            return (subscription.currentPeriodStart, subscription.currentPeriodEnd, false)
        }
        let period = plan.interval.period(containing: now, anchor: subscription.createdAt)
        // Conditional, so two recordings crossing the boundary at once move it once.
        let moved = try conn.execute("""
            UPDATE subscriptions SET current_period_start = \(period.start), current_period_end = \(period.end), updated_at = \(now)
            WHERE id = \(subscription.id) AND current_period_end <= \(period.start)
            """).rowsAffected > 0
        return (period.start, period.end, moved)
    }

    /// Adds `quantity` to the period's counter, creating it at 0 first when missing.
    ///
    /// - Returns: the counter after the addition, read from the row this transaction now holds locked.
    private static func add(_ conn: any SQLConnection, quantity: Int64, subscriptionID: Int64, periodStart: SQLTimestamp,
                            now: SQLTimestamp) throws -> Int64 {
        // Conditional, so a sum past Int64.max is refused here rather than by the server's
        // out-of-range error (quantity > 0, so the bound itself cannot overflow).
        let increment: SQLQuery = """
            UPDATE usage_counters SET used = used + \(quantity), updated_at = \(now)
            WHERE subscription_id = \(subscriptionID) AND period_start = \(periodStart)
              AND used <= \(Int64.max - quantity)
            """
        if try conn.execute(increment).rowsAffected == 0 {
            // The period's first recording: of several at once, one inserts, the others wait for it and do nothing.
            let doNothing = try conn.dialect.upsertClause(conflictColumns: ["subscription_id", "period_start"], updating: [])
            try conn.execute("""
                INSERT INTO usage_counters (subscription_id, period_start, used, created_at, updated_at)
                VALUES (\(subscriptionID), \(periodStart), \(Int64(0)), \(now), \(now)) \(unsafeRaw: doNothing)
                """)
            // The row exists now: no row changed means the sum would overflow.
            guard try conn.execute(increment).rowsAffected == 1 else {
                throw SubscriptionError.usageOverflow(subscriptionID: subscriptionID, quantity: quantity)
            }
        }
        guard let row = try conn.queryFirst("""
            SELECT used FROM usage_counters WHERE subscription_id = \(subscriptionID) AND period_start = \(periodStart)
            """) else {
            throw DatabaseError(.other, message: "usage counter of subscription \(subscriptionID) vanished")
        }
        return try row.decode("used")
    }

    /// Inserts one alert row; `false` when the unique key says it already fired.
    ///
    /// The savepoint keeps a duplicate from aborting the transaction (PostgreSQL aborts
    /// the whole transaction on any error; both backends roll back to a savepoint).
    private static func insertAlert(_ conn: any SQLConnection, threshold: UsageThreshold, subscriptionID: Int64,
                                    periodStart: SQLTimestamp, now: SQLTimestamp) throws -> Bool {
        try conn.executeUnprepared("SAVEPOINT strata_usage_alert")
        do {
            try conn.execute("""
                INSERT INTO usage_alerts (subscription_id, period_start, threshold, fired_at)
                VALUES (\(subscriptionID), \(periodStart), \(threshold.percent), \(now))
                """)
        } catch let error as DatabaseError where error.category == .uniqueViolation {
            try conn.executeUnprepared("ROLLBACK TO SAVEPOINT strata_usage_alert")
            try conn.executeUnprepared("RELEASE SAVEPOINT strata_usage_alert")
            return false
        }
        try conn.executeUnprepared("RELEASE SAVEPOINT strata_usage_alert")
        return true
    }
}
