import StrataBilling

/// A stored webhook event as an operator sees it: state, attempts, the last error;
/// not the payload, which can hold a customer's personal data.
struct WebhookEventBody: Encodable {
    var id: Int64
    var provider: String
    var eventID: String
    var type: String
    var state: String
    var attempts: Int
    var lastError: String?
    var receivedAt: String
    var nextAttemptAt: String?

    init(_ e: WebhookEvent) {
        id = e.id
        provider = e.provider
        eventID = e.eventID
        type = e.type
        state = e.state.rawValue
        attempts = e.attempts
        lastError = e.lastError
        receivedAt = e.receivedAt.iso8601
        nextAttemptAt = e.nextAttemptAt?.iso8601
    }

    enum CodingKeys: String, CodingKey {
        case id, provider, type, state, attempts
        case eventID = "event_id"
        case lastError = "last_error"
        case receivedAt = "received_at"
        case nextAttemptAt = "next_attempt_at"
    }
}
