/// What one ``GracePeriodService/sweep(context:)`` run expired.
///
/// ```swift
/// let report = try await grace.sweep(context: BillingContext(actor: "system:grace-sweep"))
/// print("expired \(report.count)")   // 0 on a second run
/// ```
public struct GraceSweepReport: Sendable, Hashable {
    /// The periods this run expired, each as it was stored once expired.
    public var expired: [GracePeriod]
    /// Ended open periods this run left to another transaction that held their
    /// subscription (another sweep, or a payment that resolved them).
    public var skipped: Int

    public init(expired: [GracePeriod], skipped: Int) {
        self.expired = expired
        self.skipped = skipped
    }

    /// How many periods this run expired.
    public var count: Int { expired.count }
}
