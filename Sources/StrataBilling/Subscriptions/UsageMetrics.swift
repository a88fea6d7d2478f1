import StrataSQL

/// How much of its plan's usage limit a subscription used in one period.
///
/// `percentage` is bounded to 0…100: usage past the limit still reads 100 (`used`
/// keeps the real count, `overLimit` says so). A **zero limit** means no usage is
/// included: 0 % while nothing is used, 100 % from the first unit on.
///
/// ```swift
/// let m = try await usage.usage(subscriptionID: 7)
/// print("\(m.used)/\(m.limit) = \(m.percentage) %")   // 850/1000 = 85.0 %
/// m.alerts.map(\.threshold)                            // [.warning]
/// ```
public struct UsageMetrics: Sendable, Hashable {
    public var subscriptionID: Int64
    public var periodStart: SQLTimestamp
    public var periodEnd: SQLTimestamp
    public var used: Int64
    /// The plan's usage limit per period.
    public var limit: Int64
    /// The alerts fired in this period so far.
    public var alerts: [UsageAlert]

    public init(subscriptionID: Int64, periodStart: SQLTimestamp, periodEnd: SQLTimestamp, used: Int64, limit: Int64,
                alerts: [UsageAlert]) {
        self.subscriptionID = subscriptionID
        self.periodStart = periodStart
        self.periodEnd = periodEnd
        self.used = used
        self.limit = limit
        self.alerts = alerts
    }

    /// `used` as a percentage of `limit`, bounded to 0…100; see the type's discussion for a zero limit.
    public var percentage: Double {
        Self.percentage(used: used, limit: limit)
    }

    /// Units left before the limit, never negative.
    public var remaining: Int64 { max(0, limit - max(0, used)) }

    /// Whether usage went past the limit.
    public var overLimit: Bool { used > limit }

    /// `used` as a percentage of `limit`, bounded to 0…100.
    ///
    /// A zero (or negative) limit: 0 when nothing is used, else 100.
    public static func percentage(used: Int64, limit: Int64) -> Double {
        guard used > 0 else { return 0 }
        guard limit > 0 else { return 100 }
        return min(100, Double(used) / Double(limit) * 100)
    }
}
