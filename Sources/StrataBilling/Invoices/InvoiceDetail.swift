/// One invoice with its lines, as ``InvoiceService/invoice(id:)`` returns it.
///
/// ```swift
/// if let detail = try await invoices.invoice(id: 42) {
///     print(detail.invoice.status, detail.lines.count)
/// }
/// ```
public struct InvoiceDetail: Sendable, Hashable {
    public var invoice: Invoice
    /// The lines in the order the first event that carried them listed them; empty when no event carried any.
    public var lines: [InvoiceLine]

    public init(invoice: Invoice, lines: [InvoiceLine]) {
        self.invoice = invoice
        self.lines = lines
    }
}
