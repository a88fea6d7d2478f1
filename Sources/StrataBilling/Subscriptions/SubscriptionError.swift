/// Why a plan, subscription or usage operation was refused. Nothing was written.
///
/// ```swift
/// do { try await subscriptions.subscribe(customer: "acme", planCode: "gold", context: ctx) }
/// catch SubscriptionError.unknownPlan(let code) { print("no plan \(code)") }
/// ```
public enum SubscriptionError: Error, Sendable, Hashable, CustomStringConvertible {
    /// No plan has this code.
    case unknownPlan(String)
    /// The plan exists but is no longer sold.
    case inactivePlan(String)
    /// The customer already has a subscription that is not canceled.
    case alreadySubscribed(customer: String, subscriptionID: Int64)
    /// No subscription has this id.
    case unknownSubscription(Int64)
    /// The subscription is canceled: it has no current period to count usage in.
    case subscriptionCanceled(Int64)
    /// Usage is recorded in positive quantities.
    case invalidQuantity(Int64)
    /// The period's usage counter would pass the largest 64-bit integer; nothing was counted.
    case usageOverflow(subscriptionID: Int64, quantity: Int64)

    public var description: String {
        switch self {
        case .unknownPlan(let code): "no plan has the code '\(code)'"
        case .inactivePlan(let code): "the plan '\(code)' is inactive"
        case .alreadySubscribed(let customer, let id): "customer '\(customer)' already has subscription \(id)"
        case .unknownSubscription(let id): "no subscription has the id \(id)"
        case .subscriptionCanceled(let id): "subscription \(id) is canceled"
        case .invalidQuantity(let q): "usage quantity must be positive, not \(q)"
        case .usageOverflow(let id, let q): "adding \(q) would overflow the usage counter of subscription \(id)"
        }
    }
}
