import Hummingbird
import StrataBilling

extension BillingAPI {
    /// `GET /billing/invoices?limit=&cursor=&customer=`: a page of the caller's invoices,
    /// newest first (the provider's creation time, then id).
    ///
    /// The customer is the token's subject; an admin may name another with `customer`,
    /// and a customer naming anyone but itself is `403`. A customer without invoices, or
    /// one the database does not know, gets an empty page: a read creates nothing and
    /// tells nobody which customers exist. `limit` is 1 to ``maxPageSize`` (default
    /// ``defaultPageSize``); `cursor` is a `next_cursor` this route returned, exactly
    /// (an ``InvoiceCursor``'s text), so the pages neither skip nor repeat an invoice
    /// while new ones arrive.
    func invoices(_ request: Request, _ context: APIRequestContext) async throws -> Response {
        let caller = try await customer(request)
        let query = request.uri.queryParameters
        let limit = try Self.pageLimit(of: request)
        var cursor: InvoiceCursor?
        if let text = query["cursor"].map(String.init) {
            // Only the text a page printed: "+5_1" or "05_1" would parse to a cursor too.
            guard let parsed = InvoiceCursor(text), parsed.description == text else {
                throw APIError.badRequest("INVALID_REQUEST", "cursor must be a next_cursor this route returned")
            }
            cursor = parsed
        }
        var owner = caller.subject
        if let named = query["customer"].map(String.init) {
            guard !named.isEmpty, !named.unicodeScalars.contains("\u{0}") else {
                throw APIError.badRequest("INVALID_REQUEST", "customer must be a customer's external id, not empty, without NUL")
            }
            guard caller.isAdmin || named.utf8.elementsEqual(caller.subject.utf8) else {
                throw APIError(.forbidden, "FORBIDDEN", "naming another customer needs the admin role")
            }
            owner = named
        }
        let page: InvoicePage
        do {
            page = try await invoiceService.list(customer: owner, limit: limit, after: cursor)
        } catch InvoiceError.unknownCustomer {
            page = InvoicePage(invoices: [], nextCursor: nil)
        }
        return try JSONResponse.make(.ok, InvoiceListBody(invoices: page.invoices.map(InvoiceBody.init),
                                                          nextCursor: page.nextCursor?.description))
    }

    /// `GET /billing/invoices/{id}`: one invoice (Strata's id) with its lines.
    ///
    /// A customer reads only its own: another customer's invoice is
    /// `404 BILLING_INVOICE_NOT_FOUND`, the answer for an id that does not exist, so the
    /// route does not tell which ids exist. An admin reads any.
    func invoice(_ request: Request, _ context: APIRequestContext) async throws -> Response {
        let caller = try await customer(request)
        let notFound = APIError(.notFound, "BILLING_INVOICE_NOT_FOUND", "no invoice of yours has that id")
        guard let id = context.parameters.get("id", as: Int64.self), id > 0 else { throw notFound }
        guard let detail = try await invoiceService.invoice(id: id) else { throw notFound }
        // Bytes, not Swift's canonical equivalence: "é" and "e\u{301}" are two customers.
        guard caller.isAdmin || detail.invoice.customer.utf8.elementsEqual(caller.subject.utf8) else { throw notFound }
        return try JSONResponse.make(.ok, InvoiceDetailBody(detail))
    }
}
