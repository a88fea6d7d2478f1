/// Where a subscription stands with its payments.
///
/// `active` → `past_due` when a payment fails (a grace period opens) → `active` again
/// when a payment succeeds, or `restricted` when the grace period ends unpaid (a later
/// payment makes it `active` again). `canceled` is final.
///
/// ```swift
/// if subscription.state == .restricted { … }
/// ```
public enum SubscriptionState: String, Sendable, Hashable, CaseIterable, Decodable {
    case active
    case pastDue = "past_due"
    case restricted
    case canceled
}
