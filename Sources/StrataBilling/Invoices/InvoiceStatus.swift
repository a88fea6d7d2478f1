/// Where a provider invoice is in its life (`invoices.status`): Stripe's five states.
///
/// An invoice starts as a `draft`, is finalized `open`, and ends `paid`, `void` or
/// `uncollectible`. ``rank`` orders them so that of two events with the same time the
/// one further along wins.
///
/// ```swift
/// InvoiceStatus.open.rank < InvoiceStatus.paid.rank   // true
/// ```
public enum InvoiceStatus: String, Sendable, Hashable, Codable, CaseIterable {
    case draft
    case open
    case paid
    case void
    case uncollectible

    /// 0 for a draft, 1 for an open invoice, 2 for the final states.
    public var rank: Int {
        switch self {
        case .draft: 0
        case .open: 1
        case .paid, .void, .uncollectible: 2
        }
    }
}
