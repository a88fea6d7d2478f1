/// One page of a customer's invoices, newest first, and where the next one starts.
///
/// ```swift
/// var page = try await invoices.list(customer: "acme", limit: 20)
/// while let next = page.nextCursor {
///     page = try await invoices.list(customer: "acme", limit: 20, after: next)
/// }
/// ```
public struct InvoicePage: Sendable, Hashable {
    public var invoices: [Invoice]
    /// The cursor of the next page, or `nil` when this page is the last.
    public var nextCursor: InvoiceCursor?

    public init(invoices: [Invoice], nextCursor: InvoiceCursor?) {
        self.invoices = invoices
        self.nextCursor = nextCursor
    }
}
