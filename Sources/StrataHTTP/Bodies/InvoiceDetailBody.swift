import StrataBilling

/// `GET /billing/invoices/{id}`: one invoice and its lines, in the order the provider
/// listed them (empty when no event carried any).
struct InvoiceDetailBody: Encodable {
    var invoice: InvoiceBody
    var lines: [InvoiceLineBody]

    init(_ detail: InvoiceDetail) {
        invoice = InvoiceBody(detail.invoice)
        lines = detail.lines.map(InvoiceLineBody.init)
    }
}
