import StrataBilling

/// One provider invoice as its customer sees it: amounts in minor units of `currency`,
/// times in RFC 3339 UTC, the provider's hosted page and PDF.
///
/// Members without a value (a draft's number, URLs and finalization time; an unpaid
/// invoice's `paid_at`) are absent, as in a ledger row. Strata's bookkeeping (the event
/// whose state the row holds, when Strata wrote it) stays out: `strata invoices show`
/// has it for operators.
struct InvoiceBody: Encodable {
    var id: Int64
    var provider: String
    var providerInvoiceID: String
    var customer: String
    var providerSubscriptionID: String?
    var number: String?
    var status: String
    var currency: String
    var amountDue: Int64
    var amountPaid: Int64
    var amountRemaining: Int64
    var periodStart: String?
    var periodEnd: String?
    var dueDate: String?
    var hostedInvoiceURL: String?
    var invoicePDFURL: String?
    var invoiceCreatedAt: String
    var finalizedAt: String?
    var paidAt: String?

    init(_ i: Invoice) {
        id = i.id
        provider = i.provider
        providerInvoiceID = i.providerInvoiceID
        customer = i.customer
        providerSubscriptionID = i.providerSubscriptionID
        number = i.number
        status = i.status.rawValue
        currency = i.currency
        amountDue = i.amountDue
        amountPaid = i.amountPaid
        amountRemaining = i.amountRemaining
        periodStart = i.periodStart?.iso8601
        periodEnd = i.periodEnd?.iso8601
        dueDate = i.dueDate?.iso8601
        hostedInvoiceURL = i.hostedInvoiceURL
        invoicePDFURL = i.invoicePDFURL
        invoiceCreatedAt = i.invoiceCreatedAt.iso8601
        finalizedAt = i.finalizedAt?.iso8601
        paidAt = i.paidAt?.iso8601
    }

    /// The names `strata invoices list --json` uses too.
    enum CodingKeys: String, CodingKey {
        case id, provider, customer, number, status, currency
        case providerInvoiceID = "provider_invoice_id"
        case providerSubscriptionID = "provider_subscription_id"
        case amountDue = "amount_due"
        case amountPaid = "amount_paid"
        case amountRemaining = "amount_remaining"
        case periodStart = "period_start"
        case periodEnd = "period_end"
        case dueDate = "due_date"
        case hostedInvoiceURL = "hosted_invoice_url"
        case invoicePDFURL = "invoice_pdf_url"
        case invoiceCreatedAt = "invoice_created_at"
        case finalizedAt = "finalized_at"
        case paidAt = "paid_at"
    }
}
