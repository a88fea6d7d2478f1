/// `POST /billing/webhook`: the event is safe (`duplicate` when it was already stored).
struct WebhookReceiptBody: Encodable {
    var received = true
    var duplicate: Bool
}
