/// Why a grace-period operation was refused. Nothing was written.
///
/// ```swift
/// do { _ = try await grace.access(for: "acme") }
/// catch GracePeriodError.noSubscription(let customer) { print("\(customer) has no subscription") }
/// ```
public enum GracePeriodError: Error, Sendable, Hashable, CustomStringConvertible {
    /// No customer has this external id.
    case unknownCustomer(String)
    /// The customer has no subscription that is not canceled.
    case noSubscription(customer: String)
    /// The subscription is restricted and has no grace period to return: a new failure
    /// never opens a fresh grace period on a restricted subscription.
    case subscriptionRestricted(subscriptionID: Int64)

    public var description: String {
        switch self {
        case .unknownCustomer(let customer): "no customer has the external id '\(customer)'"
        case .noSubscription(let customer): "customer '\(customer)' has no subscription that is not canceled"
        case .subscriptionRestricted(let id): "subscription \(id) is restricted and has no grace period"
        }
    }
}
