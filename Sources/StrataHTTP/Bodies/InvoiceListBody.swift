/// `GET /billing/invoices`: a page of one customer's invoices, newest first;
/// `next_cursor` is `null` on the last page, and always present.
struct InvoiceListBody: Encodable {
    var invoices: [InvoiceBody]
    var nextCursor: String?

    enum CodingKeys: String, CodingKey {
        case invoices
        case nextCursor = "next_cursor"
    }

    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(invoices, forKey: .invoices)
        try c.encode(nextCursor, forKey: .nextCursor)
    }
}
