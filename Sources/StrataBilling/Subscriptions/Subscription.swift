import StrataSQL

/// A customer's subscription to a plan, with its state and current period.
///
/// A customer has at most one subscription that is not canceled: its *current* one,
/// which grace periods and access decisions are about.
///
/// ```swift
/// let sub = try await subscriptions.subscribe(customer: "acme", planCode: "pro", context: ctx)
/// sub.state                 // .active
/// sub.currentPeriodEnd      // one month after sub.currentPeriodStart
/// ```
public struct Subscription: Sendable, Hashable {
    public var id: Int64
    public var customerID: Int64
    public var planID: Int64
    public var state: SubscriptionState
    public var currentPeriodStart: SQLTimestamp
    public var currentPeriodEnd: SQLTimestamp
    /// When it started: the anchor its periods are counted from.
    public var createdAt: SQLTimestamp
    public var updatedAt: SQLTimestamp

    public init(id: Int64, customerID: Int64, planID: Int64, state: SubscriptionState, currentPeriodStart: SQLTimestamp,
                currentPeriodEnd: SQLTimestamp, createdAt: SQLTimestamp, updatedAt: SQLTimestamp) {
        self.id = id
        self.customerID = customerID
        self.planID = planID
        self.state = state
        self.currentPeriodStart = currentPeriodStart
        self.currentPeriodEnd = currentPeriodEnd
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }
}

/// A `subscriptions` row, read with `row.decode(Subscription.self)`.
extension Subscription: Decodable {
    enum CodingKeys: String, CodingKey {
        case id, state
        case customerID = "customer_id", planID = "plan_id", currentPeriodStart = "current_period_start"
        case currentPeriodEnd = "current_period_end", createdAt = "created_at", updatedAt = "updated_at"
    }
}

extension Subscription {
    static let columns: SQLQuery = """
        id, customer_id, plan_id, state, current_period_start, current_period_end, created_at, updated_at
        """

    /// The subscription with this id, or `nil`, without locking it.
    static func find(_ conn: any SQLConnection, id: Int64) throws -> Subscription? {
        try conn.queryFirst("SELECT \(columns) FROM subscriptions WHERE id = \(id)")?.decode(Subscription.self)
    }

    /// The customer's current subscription (the latest one not canceled), or `nil`, without locking it.
    static func current(_ conn: any SQLConnection, customerID: Int64) throws -> Subscription? {
        try conn.queryFirst("""
            SELECT \(columns) FROM subscriptions
            WHERE customer_id = \(customerID) AND state <> \(SubscriptionState.canceled.rawValue)
            ORDER BY created_at DESC, id DESC LIMIT 1
            """)?.decode(Subscription.self)
    }

    /// Locks the subscription's row until the transaction ends and reads it as it is now.
    ///
    /// The subscription row is the one lock of everything about its billing state:
    /// grace periods are opened, resolved and expired only by a transaction holding it,
    /// always taken before any grace-period row, so those transactions queue on it and
    /// never deadlock each other. At READ COMMITTED (both backends), every statement
    /// after this one sees what the previous holder committed.
    static func lock(_ conn: any SQLConnection, id: Int64) throws -> Subscription? {
        try conn.queryFirst("SELECT \(columns) FROM subscriptions WHERE id = \(id) FOR UPDATE")?.decode(Subscription.self)
    }
}
