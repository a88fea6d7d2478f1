/// What a reconciliation found wrong, one case per check.
///
/// The raw values are the `kind` column of `reconciliation_discrepancies` and the
/// `kind` of the JSON documents. See ``ReconciliationService`` for what each check reads.
public enum ReconciliationDiscrepancyKind: String, Sendable, Hashable, Codable, CaseIterable {
    /// A processed, paid checkout session with no purchase in the ledger (credits: the package's).
    case missingPurchase = "missing_purchase"
    /// A checkout session credited more than once (credits: everything past the first purchase).
    case duplicatePurchase = "duplicate_purchase"
    /// A checkout session credited once, with other credits than its package's (credits: credited − expected).
    case wrongCredits = "wrong_credits"
    /// A purchase in the ledger whose payment reference no stored checkout event names (credits: the purchase's).
    case purchaseWithoutEvent = "purchase_without_event"
    /// An invoice stored as paid without its payment recorded (minor units: the unpaid part, or the amount due).
    case paidInvoiceWithoutPayment = "paid_invoice_without_payment"
    /// A wallet whose ledger does not verify (credits: balance − ledger sum).
    case ledgerInconsistent = "ledger_inconsistent"
    /// A wallet below zero (credits: its balance).
    case negativeWallet = "negative_wallet"
    /// A webhook event left `processing` after its lease expired (no amount).
    case stuckWebhook = "stuck_webhook"
    /// A payment in the provider's file that no stored event names (minor units: its amount).
    case providerPaymentMissing = "provider_payment_missing"
    /// A stored payment event that the provider's file does not list (minor units: its amount).
    case storedPaymentNotAtProvider = "stored_payment_not_at_provider"
    /// A payment whose amount or currency differs between the provider's file and the stored event
    /// (minor units: file − stored).
    case amountMismatch = "amount_mismatch"
}
