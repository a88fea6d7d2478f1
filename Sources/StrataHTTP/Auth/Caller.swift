import StrataBilling

/// Who a verified token says is calling: a customer, and whether they are an admin.
///
/// The subject is the customer's external id: customer routes act on that wallet and
/// no other (no customer route takes a customer id from the request).
public struct Caller: Sendable, Hashable {
    /// The token's `sub`: the customer's external id.
    public var subject: String
    /// Whether the token carries the admin role, which opens `/billing/admin/…`.
    public var isAdmin: Bool

    public init(subject: String, isAdmin: Bool) {
        self.subject = subject
        self.isAdmin = isAdmin
    }

    /// The audit identity of this caller for one request: `customer:<sub>` or `admin:<sub>`.
    func context(requestID: String) -> BillingContext {
        BillingContext(actor: (isAdmin ? "admin:" : "customer:") + subject, requestID: requestID)
    }
}
