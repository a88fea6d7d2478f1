import StrataSQL

/// A customer's wallet as it stands: balance, version and the last ledger sequence.
///
/// ```swift
/// if let wallet = try await wallets.wallet(customer: "acme") {
///     print(wallet.balance, wallet.lastSequence)
/// }
/// ```
public struct WalletSummary: Sendable, Hashable {
    public var id: Int64
    /// The customer's external id.
    public var customer: String
    public var balance: Int64
    /// Incremented by every ledger row.
    public var version: Int64
    /// The sequence of the newest ledger row (0 for a wallet with none).
    public var lastSequence: Int64
    public var createdAt: SQLTimestamp
    public var updatedAt: SQLTimestamp

    public init(id: Int64, customer: String, balance: Int64, version: Int64, lastSequence: Int64,
                createdAt: SQLTimestamp, updatedAt: SQLTimestamp) {
        self.id = id
        self.customer = customer
        self.balance = balance
        self.version = version
        self.lastSequence = lastSequence
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }
}
