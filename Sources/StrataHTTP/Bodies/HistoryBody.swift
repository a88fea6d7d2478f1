/// `GET /billing/history`: a page of the caller's ledger, newest first; `next_cursor`
/// is `null` on the last page, and always present.
struct HistoryBody: Encodable {
    var transactions: [TransactionBody]
    var nextCursor: String?

    enum CodingKeys: String, CodingKey {
        case transactions
        case nextCursor = "next_cursor"
    }

    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(transactions, forKey: .transactions)
        try c.encode(nextCursor, forKey: .nextCursor)
    }
}
