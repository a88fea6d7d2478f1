import StrataSQL

/// One line of a provider invoice (`invoice_lines`), stored once per invoice and line id.
///
/// `amount` is signed minor units (a discount or a proration credit is negative).
///
/// ```swift
/// let detail = try await invoices.invoice(id: 42)
/// detail?.lines.map(\.amount).reduce(0, +)   // the invoice's subtotal
/// ```
public struct InvoiceLine: Sendable, Hashable {
    public var id: Int64
    public var invoiceID: Int64
    /// The provider's line id (`il_…`).
    public var lineID: String
    public var description: String?
    public var amount: Int64
    /// ISO 4217, upper case.
    public var currency: String
    public var quantity: Int64?
    public var periodStart: SQLTimestamp?
    public var periodEnd: SQLTimestamp?
}

/// An `invoice_lines` row (``columns``), read with `row.decode(InvoiceLine.self)`.
extension InvoiceLine: Decodable {
    enum CodingKeys: String, CodingKey {
        case id, description, amount, currency, quantity
        case invoiceID = "invoice_id", lineID = "line_id", periodStart = "period_start", periodEnd = "period_end"
    }

    static let columns: SQLQuery = """
        id, invoice_id, line_id, description, amount, currency, quantity, period_start, period_end
        """
}
