import StrataSQL

/// A usage alert that fired: one per subscription, period and threshold (`usage_alerts`).
///
/// ```swift
/// for alert in try await usage.usage(subscriptionID: 7).alerts {
///     print(alert.threshold.percent, alert.firedAt)   // 80 2026-01-12T09:30:00.000000Z
/// }
/// ```
public struct UsageAlert: Sendable, Hashable {
    public var threshold: UsageThreshold
    public var periodStart: SQLTimestamp
    public var firedAt: SQLTimestamp

    public init(threshold: UsageThreshold, periodStart: SQLTimestamp, firedAt: SQLTimestamp) {
        self.threshold = threshold
        self.periodStart = periodStart
        self.firedAt = firedAt
    }
}

/// A `usage_alerts` row, read with `row.decode(UsageAlert.self)`.
extension UsageAlert: Decodable {
    enum CodingKeys: String, CodingKey {
        case threshold
        case periodStart = "period_start", firedAt = "fired_at"
    }
}

extension UsageAlert {
    /// The alerts of one subscription's period, lowest threshold first.
    static func all(_ conn: any SQLConnection, subscriptionID: Int64, periodStart: SQLTimestamp) throws -> [UsageAlert] {
        try conn.query("""
            SELECT threshold, period_start, fired_at FROM usage_alerts
            WHERE subscription_id = \(subscriptionID) AND period_start = \(periodStart)
            ORDER BY threshold
            """).map { try $0.decode(UsageAlert.self) }
    }
}
