/// What a mutating wallet operation answers: the ledger row, and whether it is new.
///
/// A replay, be it the same idempotency key with the same request, a run id already
/// charged, or a payment reference already credited, returns the row written the first
/// time with ``isReplay`` set: it moved no credits and wrote no audit row.
///
/// ```swift
/// let first = try await wallets.charge(customer: "acme", agentKey: "code_reviewer", runID: "run-42", context: ctx)
/// let again = try await wallets.charge(customer: "acme", agentKey: "code_reviewer", runID: "run-42", context: ctx)
/// again.transaction.id == first.transaction.id   // true
/// again.isReplay                                 // true
/// ```
public struct WalletReceipt: Sendable, Hashable {
    public var transaction: WalletTransaction
    /// Whether the operation had already happened and this is its earlier result.
    public var isReplay: Bool

    public init(transaction: WalletTransaction, isReplay: Bool) {
        self.transaction = transaction
        self.isReplay = isReplay
    }
}
