/// How much one reconciliation run looked at.
public struct ReconciliationCounts: Sendable, Hashable, Codable {
    /// Paid checkout sessions of processed checkout events received in the period.
    public var checkoutEvents: Int64 = 0
    /// Purchases in the ledger made in the period.
    public var purchases: Int64 = 0
    /// Paid invoices paid (or last changed) in the period.
    public var invoices: Int64 = 0
    /// Wallets whose ledger was verified (all of them: a ledger is checked whole).
    public var wallets: Int64 = 0
    /// Rows of the provider's payments file dated in the period (0 without a file).
    public var providerRows: Int64 = 0

    public init() {}

    enum CodingKeys: String, CodingKey {
        case checkoutEvents = "checkout_events", purchases, invoices, wallets, providerRows = "provider_rows"
    }
}
