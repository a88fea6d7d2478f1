/// Why an invoice operation was refused. Nothing was written.
///
/// ```swift
/// do { _ = try await invoices.list(customer: "acme", cursor: "garbage") }
/// catch InvoiceError.invalidCursor(let text) { print("bad cursor \(text)") }
/// ```
public enum InvoiceError: Error, Sendable, Hashable, CustomStringConvertible {
    /// No customer has this external id.
    case unknownCustomer(String)
    /// The cursor is not one a page returned.
    case invalidCursor(String)
    /// A page holds at least one invoice.
    case invalidLimit(Int)
    /// The provider event does not describe an invoice Strata can store.
    case invalidInvoice(String)

    public var description: String {
        switch self {
        case .unknownCustomer(let customer): "no customer has the external id '\(customer)'"
        case .invalidCursor(let text): "invalid invoice cursor '\(text)': pass the next_cursor a page returned"
        case .invalidLimit(let limit): "the limit must be more than 0, not \(limit)"
        case .invalidInvoice(let reason): "invalid invoice event: \(reason)"
        }
    }
}
