import StrataSQL

/// Where a page of a customer's invoices ends: the last invoice's creation time and id.
///
/// The list is ordered by `(invoice_created_at, id)` descending, so the next page is
/// every invoice strictly before that pair: pages neither skip nor repeat an invoice,
/// also when invoices share a creation time or new ones arrive between two pages. Its
/// text form, `<microseconds since 1970>_<id>`, is what the CLI prints and reads back.
///
/// ```swift
/// let cursor = InvoiceCursor("1767225600000000_42")
/// cursor?.description   // "1767225600000000_42"
/// ```
public struct InvoiceCursor: Sendable, Hashable, CustomStringConvertible {
    public var invoiceCreatedAt: SQLTimestamp
    public var id: Int64

    public init(invoiceCreatedAt: SQLTimestamp, id: Int64) {
        self.invoiceCreatedAt = invoiceCreatedAt
        self.id = id
    }

    /// Reads the text form; `nil` for anything else.
    public init?(_ text: String) {
        let parts = text.split(separator: "_", omittingEmptySubsequences: false)
        guard parts.count == 2, let micros = Int64(parts[0]), let id = Int64(parts[1]), id > 0 else { return nil }
        self.init(invoiceCreatedAt: SQLTimestamp(microsecondsSinceEpoch: micros), id: id)
    }

    /// Reads the text form.
    ///
    /// - Throws: ``InvoiceError/invalidCursor(_:)``.
    public static func parse(_ text: String) throws -> InvoiceCursor {
        guard let cursor = InvoiceCursor(text) else { throw InvoiceError.invalidCursor(text) }
        return cursor
    }

    public var description: String { "\(invoiceCreatedAt.microsecondsSinceEpoch)_\(id)" }
}
