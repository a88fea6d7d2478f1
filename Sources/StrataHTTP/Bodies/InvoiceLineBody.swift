import StrataBilling

/// One line of an invoice: a signed amount in minor units (a discount is negative), and
/// the period it bills when the provider gave one.
struct InvoiceLineBody: Encodable {
    var lineID: String
    var description: String?
    var amount: Int64
    var currency: String
    var quantity: Int64?
    var periodStart: String?
    var periodEnd: String?

    init(_ l: InvoiceLine) {
        lineID = l.lineID
        description = l.description
        amount = l.amount
        currency = l.currency
        quantity = l.quantity
        periodStart = l.periodStart?.iso8601
        periodEnd = l.periodEnd?.iso8601
    }

    enum CodingKeys: String, CodingKey {
        case description, amount, currency, quantity
        case lineID = "line_id"
        case periodStart = "period_start"
        case periodEnd = "period_end"
    }
}
