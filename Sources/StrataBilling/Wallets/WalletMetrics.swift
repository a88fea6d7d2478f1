import Metrics

/// The counters ``WalletService`` keeps of what it did: charges by outcome and the
/// credits that moved, through swift-metrics.
///
/// Recorded where the outcome is known, after the transaction committed (a refused
/// charge when its refusal leaves the service), so a charge made by `strata serve`, by
/// a webhook handler or by the CLI counts the same. A replay moves no credits and
/// counts only as a replayed charge. The handles are made when the service is, from the
/// metrics backend bootstrapped then: with none (the default), recording costs next to
/// nothing and goes nowhere. A library never bootstraps; `strata serve` does.
///
/// | series | labels | what |
/// |---|---|---|
/// | `strata_charges_total` | `outcome`: `succeeded`, `refused`, `replayed` | charges made, refused for insufficient credits, and runs charged before |
/// | `strata_credits_granted_total` | | credits added by grants |
/// | `strata_credits_purchased_total` | | credits added by purchases |
/// | `strata_credits_charged_total` | | credits taken by charges |
/// | `strata_credits_refunded_total` | | credits given back by refunds |
///
/// ```swift
/// let metrics = WalletMetrics()
/// metrics.record(receipt)   // after a grant, purchase, charge or refund committed
/// ```
struct WalletMetrics: Sendable {
    static let charges = "strata_charges_total"
    private let chargesSucceeded: Counter
    private let chargesRefused: Counter
    private let chargesReplayed: Counter
    private let creditsGranted: Counter
    private let creditsPurchased: Counter
    private let creditsCharged: Counter
    private let creditsRefunded: Counter

    init() {
        chargesSucceeded = Counter(label: Self.charges, dimensions: [("outcome", "succeeded")])
        chargesRefused = Counter(label: Self.charges, dimensions: [("outcome", "refused")])
        chargesReplayed = Counter(label: Self.charges, dimensions: [("outcome", "replayed")])
        creditsGranted = Counter(label: "strata_credits_granted_total")
        creditsPurchased = Counter(label: "strata_credits_purchased_total")
        creditsCharged = Counter(label: "strata_credits_charged_total")
        creditsRefunded = Counter(label: "strata_credits_refunded_total")
    }

    /// Counts a committed operation: its credits, or a replayed charge.
    func record(_ receipt: WalletReceipt) {
        let row = receipt.transaction
        if receipt.isReplay {
            if row.kind == .charge { chargesReplayed.increment() }
            return
        }
        // Amounts are signed on the ledger (a charge is negative); the counters only grow.
        let credits = Int64(clamping: row.amount.magnitude)
        switch row.kind {
        case .grant: creditsGranted.increment(by: credits)
        case .purchase: creditsPurchased.increment(by: credits)
        case .refund: creditsRefunded.increment(by: credits)
        case .charge:
            chargesSucceeded.increment()
            creditsCharged.increment(by: credits)
        case .adjustment: break   // not an operation of this service
        }
    }

    /// Counts a charge refused because the balance did not cover it.
    func recordRefusedCharge() {
        chargesRefused.increment()
    }
}
