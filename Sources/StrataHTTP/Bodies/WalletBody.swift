/// `GET /billing/wallet`: the balance and one page of the ledger, newest first.
///
/// `next_cursor` is `null` on the last page; otherwise pass it as `?cursor=` for the
/// next one. It is always present, so a client can loop on it.
struct WalletBody: Encodable {
    var customer: String
    var balanceCredits: Int64
    var transactions: [TransactionBody]
    var nextCursor: String?

    enum CodingKeys: String, CodingKey {
        case customer, transactions
        case balanceCredits = "balance_credits"
        case nextCursor = "next_cursor"
    }

    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(customer, forKey: .customer)
        try c.encode(balanceCredits, forKey: .balanceCredits)
        try c.encode(transactions, forKey: .transactions)
        try c.encode(nextCursor, forKey: .nextCursor)
    }
}
