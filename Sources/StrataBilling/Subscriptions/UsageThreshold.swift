/// The share of a plan's usage limit at which an alert fires, once per subscription and period.
///
/// A threshold is reached when the percentage, as ``UsageMetrics/percentage`` bounds and
/// defines it, is at least the threshold: with a limit of 1,000, the 80 % alert fires
/// at 800 and the 100 % alert at 1,000. With a zero limit any usage is 100 %, so the
/// first unit fires both.
///
/// ```swift
/// UsageThreshold.warning.isReached(used: 800, limit: 1_000)   // true
/// UsageThreshold.limit.isReached(used: 999, limit: 1_000)     // false
/// ```
public enum UsageThreshold: Int, Sendable, Hashable, CaseIterable, Comparable, Decodable {
    case warning = 80
    case limit = 100

    public var percent: Int { rawValue }

    /// Whether `used` units of a `limit` reach this threshold.
    ///
    /// Exact in integers (no floating point at the boundary, no overflow): the units
    /// needed are ⌈limit × percent / 100⌉, and at least 1, so zero usage never reaches
    /// a threshold, even of a zero limit.
    public func isReached(used: Int64, limit: Int64) -> Bool {
        let (q, r) = max(0, limit).quotientAndRemainder(dividingBy: 100)
        let needed = q * Int64(percent) + (r * Int64(percent) + 99) / 100
        return used >= max(1, needed)
    }

    public static func < (a: UsageThreshold, b: UsageThreshold) -> Bool { a.rawValue < b.rawValue }
}
