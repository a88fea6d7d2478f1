/// `POST /billing/admin/refunds`: `{"transaction_id": 42, "reason": "agent crashed"}`.
struct RefundRequest: StrictJSONRequest {
    var transactionID: Int64
    var reason: String?

    enum CodingKeys: String, CodingKey, CaseIterable {
        case transactionID = "transaction_id"
        case reason
    }
}
