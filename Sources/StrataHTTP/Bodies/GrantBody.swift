/// `POST /billing/admin/grant`: `{"success": true, "new_balance": 1000, "transaction_id": 7}`.
struct GrantBody: Encodable {
    var success = true
    var newBalance: Int64
    var transactionID: Int64

    enum CodingKeys: String, CodingKey {
        case success
        case newBalance = "new_balance"
        case transactionID = "transaction_id"
    }
}
