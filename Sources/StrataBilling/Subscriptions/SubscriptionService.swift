import Logging
import StrataSQL

/// Subscribes customers to the plans of the catalogue and reads plans and subscriptions.
///
/// A customer has at most one subscription that is not canceled; `subscribe` refuses
/// a second one (a plan change is not a new subscription, and a new subscription must
/// never be a way out of a restricted one). Two `subscribe` calls for the same customer
/// at once queue on the customer's row, so exactly one of them succeeds.
///
/// ```swift
/// let subscriptions = SubscriptionService(database: db, clock: SystemClock(), logger: logger)
/// let sub = try await subscriptions.subscribe(customer: "acme", planCode: "starter",
///                                             context: BillingContext(actor: "admin:alice"))
/// ```
public struct SubscriptionService: Sendable {
    public let database: Database
    public let clock: any BillingClock
    private let logger: Logger

    public init(database: Database, clock: any BillingClock, logger: Logger) {
        self.database = database
        self.clock = clock
        self.logger = logger
    }

    /// The plans of the catalogue, cheapest first.
    ///
    /// - Parameter includeInactive: also list plans that are no longer sold.
    public func plans(includeInactive: Bool = false) async throws -> [Plan] {
        try await database.withReplicaConnection { conn in
            var q: SQLQuery = "SELECT \(Plan.columns) FROM plans"
            if !includeInactive { q.append(" WHERE active = \(true)") }
            q.append(" ORDER BY price_minor, code")
            return try conn.query(q).map { try $0.decode(Plan.self) }
        }
    }

    /// Subscribes a customer to a plan, creating the customer on first use.
    ///
    /// The subscription starts `active`, its first period runs from now for one interval
    /// of the plan (a month or a year). One transaction writes the subscription and one
    /// `subscription.create` audit row.
    ///
    /// - Parameters:
    ///   - customer: the customer's external id (case-sensitive).
    ///   - planCode: the plan's code.
    ///   - context: who asks, for the audit log.
    /// - Returns: the new subscription.
    /// - Throws: ``SubscriptionError/unknownPlan(_:)``, ``SubscriptionError/inactivePlan(_:)``,
    ///   ``SubscriptionError/alreadySubscribed(customer:subscriptionID:)``, or a ``DatabaseError``.
    public func subscribe(customer: String, planCode: String, context: BillingContext) async throws -> Subscription {
        let now = clock.now()
        let subscription = try await database.transaction { conn -> Subscription in
            guard let plan = try Plan.find(conn, code: planCode) else { throw SubscriptionError.unknownPlan(planCode) }
            guard plan.active else { throw SubscriptionError.inactivePlan(planCode) }
            let customerID = try Customers.ensure(conn, externalID: customer, at: now)
            // Queue concurrent subscribes of one customer, so "none yet" stays true until we commit.
            try conn.execute("SELECT id FROM customers WHERE id = \(customerID) FOR UPDATE")
            if let existing = try Subscription.current(conn, customerID: customerID) {
                throw SubscriptionError.alreadySubscribed(customer: customer, subscriptionID: existing.id)
            }
            let end = plan.interval.advance(now, by: 1)
            let id = try conn.insertReturningID("""
                INSERT INTO subscriptions (customer_id, plan_id, state, current_period_start, current_period_end, created_at, updated_at)
                VALUES (\(customerID), \(plan.id), \(SubscriptionState.active.rawValue), \(now), \(end), \(now), \(now))
                """)
            try AuditLog.record(conn, context: context, action: "subscription.create", subjectType: "subscription",
                                subjectID: "\(id)",
                                details: ["customer": customer, "plan": plan.code, "period_start": now.iso8601,
                                          "period_end": end.iso8601],
                                at: now)
            return Subscription(id: id, customerID: customerID, planID: plan.id, state: .active, currentPeriodStart: now,
                                currentPeriodEnd: end, createdAt: now, updatedAt: now)
        }
        logger.info("subscription created", metadata: [
            "subscription": "\(subscription.id)", "customer": "\(customer)", "plan": "\(planCode)",
        ])
        return subscription
    }

    /// The subscription with this id, or `nil`.
    public func subscription(id: Int64) async throws -> Subscription? {
        try await database.withConnection { try Subscription.find($0, id: id) }
    }

    /// The customer's current subscription (the one not canceled), or `nil` when the
    /// customer is unknown or has none.
    public func currentSubscription(customer: String) async throws -> Subscription? {
        try await database.withConnection { conn in
            guard let customerID = try Customers.find(conn, externalID: customer) else { return nil }
            return try Subscription.current(conn, customerID: customerID)
        }
    }
}
