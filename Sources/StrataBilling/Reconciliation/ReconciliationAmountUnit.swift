/// What a discrepancy's amount counts.
public enum ReconciliationAmountUnit: String, Sendable, Hashable, Codable {
    /// Wallet credits.
    case credits
    /// Money, in minor units of the discrepancy's currency.
    case minorUnits = "minor_units"
    /// No amount (always 0): a stuck webhook event.
    case none
}
