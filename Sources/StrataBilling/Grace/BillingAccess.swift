import StrataSQL

/// What a customer may use right now, decided from the stored dates and the clock at
/// the moment of asking.
///
/// An open grace period whose end has passed is `restricted` even before the sweep
/// marked it expired: a late sweep never grants extra days.
///
/// ```swift
/// switch try await grace.access(for: "acme") {
/// case .full: run()
/// case .grace(let daysLeft, _): run(); warn("payment failed, \(daysLeft) days left")
/// case .restricted: refuse()
/// }
/// ```
public enum BillingAccess: Sendable, Hashable {
    case full
    /// In a grace period: `daysLeft` whole days, rounded up (so 1 on the last day,
    /// until `endsAt`).
    case grace(daysLeft: Int, endsAt: SQLTimestamp)
    case restricted

    /// The decision, from a subscription's state and its open grace period's end.
    ///
    /// - `restricted` or `canceled` subscription → `.restricted`;
    /// - an open grace period → `.grace` while `now < endsAt`, `.restricted` from `endsAt` on;
    /// - otherwise → `.full`.
    public static func decide(subscriptionState: SubscriptionState, openGraceEndsAt endsAt: SQLTimestamp?,
                              now: SQLTimestamp) -> BillingAccess {
        if subscriptionState == .restricted || subscriptionState == .canceled { return .restricted }
        guard let endsAt else { return .full }
        guard now < endsAt else { return .restricted }
        let day: Int64 = 86_400_000_000
        let left = endsAt.microsecondsSinceEpoch - now.microsecondsSinceEpoch
        return .grace(daysLeft: Int((left + day - 1) / day), endsAt: endsAt)
    }

    /// `full`, `grace` or `restricted`.
    public var name: String {
        switch self {
        case .full: "full"
        case .grace: "grace"
        case .restricted: "restricted"
        }
    }
}
