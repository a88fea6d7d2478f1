/// What one ``UsageService/recordUsage(subscriptionID:quantity:context:)`` call did.
///
/// `fired` holds the alerts this call fired, and only those: across all the calls of a
/// period each threshold appears in exactly one call's `fired`.
///
/// ```swift
/// let r = try await usage.recordUsage(subscriptionID: 7, quantity: 50, context: ctx)
/// if r.fired.contains(.limit) { notifyLimitReached() }
/// ```
public struct UsageRecording: Sendable, Hashable {
    /// The usage of the period once this quantity counted, with every alert of the period.
    public var metrics: UsageMetrics
    /// The alerts this call fired, lowest first.
    public var fired: [UsageThreshold]

    public init(metrics: UsageMetrics, fired: [UsageThreshold]) {
        self.metrics = metrics
        self.fired = fired
    }
}
