import StrataBilling

/// The caller's usage this period: `percentage` bounded to 0–100, `remaining` never
/// negative; `alerts_fired` (80, 100) only on `POST /billing/usage`, for the thresholds
/// this very call crossed (each fires once per period).
struct UsageBody: Encodable {
    var used: Int64
    var limit: Int64
    var percentage: Double
    var remaining: Int64
    var periodStart: String
    var periodEnd: String
    var alertsFired: [Int]?

    init(_ m: UsageMetrics, fired: [UsageThreshold]? = nil) {
        used = m.used
        limit = m.limit
        percentage = m.percentage
        remaining = m.remaining
        periodStart = m.periodStart.iso8601
        periodEnd = m.periodEnd.iso8601
        alertsFired = fired?.map(\.percent)
    }

    enum CodingKeys: String, CodingKey {
        case used, limit, percentage, remaining
        case periodStart = "period_start"
        case periodEnd = "period_end"
        case alertsFired = "alerts_fired"
    }
}
