import StrataSQL

/// One provider invoice as Strata last heard of it (`invoices`).
///
/// The row holds the state of one provider event, ``sourceEventID``, whose time is
/// ``sourceEventCreatedAt``: the built-in webhook handlers replace it only with a newer
/// event's state (see ``InvoiceService``). Amounts are minor units of ``currency``; the
/// invoice's times are the provider's, ``createdAt`` and ``updatedAt`` Strata's.
///
/// ```swift
/// let page = try await invoices.list(customer: "acme", limit: 20)
/// page.invoices.first?.status          // .paid
/// page.invoices.first?.amountPaid      // 4900
/// ```
public struct Invoice: Sendable, Hashable {
    public var id: Int64
    /// `stripe`, …: provider invoice ids are unique per provider.
    public var provider: String
    /// The provider's invoice id (`in_…`), case-sensitive.
    public var providerInvoiceID: String
    /// The external id of the customer billed.
    public var customer: String
    /// The provider's subscription id (`sub_…`), when the invoice belongs to one.
    public var providerSubscriptionID: String?
    /// The invoice number the customer sees; drafts have none.
    public var number: String?
    public var status: InvoiceStatus
    /// ISO 4217, upper case.
    public var currency: String
    public var amountDue: Int64
    public var amountPaid: Int64
    public var amountRemaining: Int64
    public var periodStart: SQLTimestamp?
    public var periodEnd: SQLTimestamp?
    public var dueDate: SQLTimestamp?
    /// The provider's page where the customer can see and pay the invoice.
    public var hostedInvoiceURL: String?
    /// The provider's PDF of the invoice.
    public var invoicePDFURL: String?
    /// When the provider created the invoice: the order of a customer's list.
    public var invoiceCreatedAt: SQLTimestamp
    public var finalizedAt: SQLTimestamp?
    public var paidAt: SQLTimestamp?
    /// The provider event whose state the row holds.
    public var sourceEventID: String
    /// That event's time: an older event never replaces the row.
    public var sourceEventCreatedAt: SQLTimestamp
    public var createdAt: SQLTimestamp
    public var updatedAt: SQLTimestamp
}

/// An `invoices` row joined to its customer's external id (``columns``), read with
/// `row.decode(Invoice.self)`.
extension Invoice: Decodable {
    enum CodingKeys: String, CodingKey {
        case id, provider, customer, number, status, currency
        case providerInvoiceID = "provider_invoice_id", providerSubscriptionID = "provider_subscription_id"
        case amountDue = "amount_due", amountPaid = "amount_paid", amountRemaining = "amount_remaining"
        case periodStart = "period_start", periodEnd = "period_end", dueDate = "due_date"
        case hostedInvoiceURL = "hosted_invoice_url", invoicePDFURL = "invoice_pdf_url"
        case invoiceCreatedAt = "invoice_created_at", finalizedAt = "finalized_at", paidAt = "paid_at"
        case sourceEventID = "source_event_id", sourceEventCreatedAt = "source_event_created_at"
        case createdAt = "created_at", updatedAt = "updated_at"
    }

    /// The columns every query of an invoice selects, from `invoices i JOIN customers c`.
    static let columns: SQLQuery = """
        i.id, i.provider, i.provider_invoice_id, c.external_id AS customer, i.provider_subscription_id, i.number,
        i.status, i.currency, i.amount_due, i.amount_paid, i.amount_remaining, i.period_start, i.period_end,
        i.due_date, i.hosted_invoice_url, i.invoice_pdf_url, i.invoice_created_at, i.finalized_at, i.paid_at,
        i.source_event_id, i.source_event_created_at, i.created_at, i.updated_at
        """
}
