/// `POST /billing/usage`: `{"quantity": 25}`, units of the caller's plan used.
struct UsageRequest: StrictJSONRequest {
    var quantity: Int64

    enum CodingKeys: String, CodingKey, CaseIterable {
        case quantity
    }
}
