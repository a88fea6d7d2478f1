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

extension GracePeriod {
    static let columns: SQLQuery = """
        id, customer_id, subscription_id, reason, started_at, ends_at, resolved_at, expired_at, state
        """

    init(row: Row) throws {
        let stateText: String = try row.decode("state")
        guard let state = GracePeriodState(rawValue: stateText) else {
            throw RowDecodingError(column: "state", message: "unknown grace period state '\(stateText)'")
        }
        self.init(id: try row.decode("id"), customerID: try row.decode("customer_id"),
                  subscriptionID: try row.decode("subscription_id"), reason: try row.decode("reason"),
                  startedAt: try row.decode("started_at"), endsAt: try row.decode("ends_at"),
                  resolvedAt: try row.decode("resolved_at"), expiredAt: try row.decode("expired_at"), state: state)
    }

    /// The subscription's open grace period, or `nil`.
    static func open(_ conn: any SQLConnection, subscriptionID: Int64) throws -> GracePeriod? {
        try conn.queryFirst("SELECT \(columns) FROM grace_periods WHERE open_subscription_id = \(subscriptionID)")
            .map(GracePeriod.init(row:))
    }

    /// The subscription's latest grace period in any state, or `nil`.
    static func latest(_ conn: any SQLConnection, subscriptionID: Int64) throws -> GracePeriod? {
        try conn.queryFirst("""
            SELECT \(columns) FROM grace_periods WHERE subscription_id = \(subscriptionID)
            ORDER BY started_at DESC, id DESC LIMIT 1
            """).map(GracePeriod.init(row:))
    }
}
