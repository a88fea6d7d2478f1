/// A ledger row about to be appended: everything but its position in the wallet.
///
/// ``WalletLedger/append(_:to:_:at:)`` gives it the wallet's next sequence and the
/// balance after it.
struct LedgerEntry: Sendable {
    var kind: WalletTransactionKind
    /// Signed: positive in, negative out.
    var amount: Int64
    var agentKey: String? = nil
    var costPerRun: Int64? = nil
    var runID: String? = nil
    var idempotencyKey: String? = nil
    var externalReference: String? = nil
    var refundedTransactionID: Int64? = nil
    var actor: String
    var reason: String? = nil
}
