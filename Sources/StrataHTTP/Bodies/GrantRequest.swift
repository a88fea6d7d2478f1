/// `POST /billing/admin/grant`: `{"customer": "acme", "credits": 1000, "reason": "welcome"}`.
struct GrantRequest: StrictJSONRequest {
    var customer: String
    var credits: Int64
    var reason: String

    enum CodingKeys: String, CodingKey, CaseIterable {
        case customer, credits, reason
    }
}
