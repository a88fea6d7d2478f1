import StrataSQL

/// One payment as the provider lists it: a row of its payments export.
public struct ProviderPayment: Sendable, Hashable {
    /// The provider's payment id (`py_…`, `pi_…`, `ch_…`, or the checkout session / invoice id).
    public var id: String
    /// The provider's customer id, as exported (may be empty).
    public var customer: String
    /// Minor units of ``currency``.
    public var amount: Int64
    /// ISO 4217, upper case.
    public var currency: String
    public var created: SQLTimestamp
    /// The row's line in its file, for messages.
    public var line: Int

    public init(id: String, customer: String, amount: Int64, currency: String, created: SQLTimestamp, line: Int) {
        self.id = id
        self.customer = customer
        self.amount = amount
        self.currency = currency
        self.created = created
        self.line = line
    }
}
