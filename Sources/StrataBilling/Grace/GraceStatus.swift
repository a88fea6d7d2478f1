import StrataSQL

/// A customer's current subscription, its open grace period and the access they give,
/// all read by one statement, so the three agree.
///
/// ```swift
/// let status = try await grace.status(for: "acme")
/// print(status.subscription.state, status.access.name, status.openPeriod?.endsAt as Any)
/// ```
public struct GraceStatus: Sendable, Hashable {
    public var subscription: Subscription
    /// The open grace period, also one whose end passed but that no sweep expired yet.
    public var openPeriod: GracePeriod?
    public var access: BillingAccess
    /// The clock's time the access was decided at.
    public var checkedAt: SQLTimestamp

    public init(subscription: Subscription, openPeriod: GracePeriod?, access: BillingAccess, checkedAt: SQLTimestamp) {
        self.subscription = subscription
        self.openPeriod = openPeriod
        self.access = access
        self.checkedAt = checkedAt
    }
}
