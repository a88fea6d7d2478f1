import StrataSQL

/// An invoice's state as one provider event describes it, in Strata's terms: what the
/// built-in handlers store in `invoices` and `invoice_lines`.
///
/// Built from a Stripe event with ``init(stripeEvent:)``.
///
/// ```swift
/// let invoice = try ProviderInvoice(stripeEvent: event)
/// invoice.status            // .open
/// invoice.eventCreatedAt    // the event's `created`
/// ```
public struct ProviderInvoice: Sendable, Hashable {
    /// One invoice line from the event.
    public struct Line: Sendable, Hashable {
        public var lineID: String
        public var description: String?
        public var amount: Int64
        public var currency: String
        public var quantity: Int64?
        public var periodStart: SQLTimestamp?
        public var periodEnd: SQLTimestamp?
    }

    public var provider: String
    public var providerInvoiceID: String
    /// The provider's customer id (`cus_…`), when the event names one.
    public var providerCustomerID: String?
    public var providerSubscriptionID: String?
    public var number: String?
    public var status: InvoiceStatus
    public var currency: String
    public var amountDue: Int64
    public var amountPaid: Int64
    public var amountRemaining: Int64
    public var periodStart: SQLTimestamp?
    public var periodEnd: SQLTimestamp?
    public var dueDate: SQLTimestamp?
    public var hostedInvoiceURL: String?
    public var invoicePDFURL: String?
    public var invoiceCreatedAt: SQLTimestamp
    public var finalizedAt: SQLTimestamp?
    public var paidAt: SQLTimestamp?
    /// The lines the event carries, or `nil` when it carries none (not even an empty list).
    public var lines: [Line]?
    /// Whether the event's list of lines is complete (`lines.has_more` is false): lines
    /// stored earlier and missing from it are then removed.
    public var linesComplete: Bool
    /// The event that described this state.
    public var eventID: String
    /// The event's time: the state of an older event never replaces a newer one.
    public var eventCreatedAt: SQLTimestamp
}
