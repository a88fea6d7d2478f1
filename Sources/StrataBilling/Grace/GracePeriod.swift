import StrataSQL

/// The days a customer keeps access after a failed payment (`grace_periods`).
///
/// Opened by ``GracePeriodService/paymentFailed(customer:reason:context:)``, resolved by
/// a payment, expired by the sweep once `endsAt` passed. At most one is open per
/// subscription.
///
/// ```swift
/// let period = try await grace.paymentFailed(customer: "acme", reason: "card_declined", context: ctx)
/// period.state     // .open
/// period.endsAt    // period.startedAt + 7 days
/// ```
public struct GracePeriod: Sendable, Hashable {
    public var id: Int64
    public var customerID: Int64
    public var subscriptionID: Int64
    public var reason: String
    public var startedAt: SQLTimestamp
    public var endsAt: SQLTimestamp
    public var resolvedAt: SQLTimestamp?
    public var expiredAt: SQLTimestamp?
    public var state: GracePeriodState

    public init(id: Int64, customerID: Int64, subscriptionID: Int64, reason: String, startedAt: SQLTimestamp,
                endsAt: SQLTimestamp, resolvedAt: SQLTimestamp? = nil, expiredAt: SQLTimestamp? = nil, state: GracePeriodState) {
        self.id = id
        self.customerID = customerID
        self.subscriptionID = subscriptionID
        self.reason = reason
        self.startedAt = startedAt
        self.endsAt = endsAt
        self.resolvedAt = resolvedAt
        self.expiredAt = expiredAt
        self.state = state
    }
}

/// A `grace_periods` row, read with `row.decode(GracePeriod.self)`.
extension GracePeriod: Decodable {
    enum CodingKeys: String, CodingKey {
        case id, reason, state
        case customerID = "customer_id", subscriptionID = "subscription_id", startedAt = "started_at"
        case endsAt = "ends_at", resolvedAt = "resolved_at", expiredAt = "expired_at"
    }
}

extension GracePeriod {
    static let columns: SQLQuery = """
        id, customer_id, subscription_id, reason, started_at, ends_at, resolved_at, expired_at, state
        """

    /// The subscription's open grace period, or `nil`.
    static func open(_ conn: any SQLConnection, subscriptionID: Int64) throws -> GracePeriod? {
        try conn.queryFirst("SELECT \(columns) FROM grace_periods WHERE open_subscription_id = \(subscriptionID)")?
            .decode(GracePeriod.self)
    }

    /// The subscription's latest grace period in any state, or `nil`.
    static func latest(_ conn: any SQLConnection, subscriptionID: Int64) throws -> GracePeriod? {
        try conn.queryFirst("""
            SELECT \(columns) FROM grace_periods WHERE subscription_id = \(subscriptionID)
            ORDER BY started_at DESC, id DESC LIMIT 1
            """)?.decode(GracePeriod.self)
    }
}
