/// Why the webhook inbox refused a delivery or an operation.
///
/// A refused delivery stores nothing: no event row, no audit row. Answer the provider
/// with a 4xx for ``invalidSignature(_:)``, ``invalidPayload(_:)`` and
/// ``payloadTooLarge(bytes:limit:)`` (it will not
/// succeed on a retry), and with a 5xx for database errors (it may).
///
/// ```swift
/// do {
///     _ = try await inbox.receive(provider: "stripe", payload: body, signatureHeader: header)
/// } catch WebhookError.invalidSignature(let reason) {
///     logger.warning("webhook refused", metadata: ["reason": "\(reason)"])
/// }
/// ```
public enum WebhookError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The signature header is missing, malformed, stale or does not match the payload.
    case invalidSignature(String)
    /// The payload is not a JSON object with a string `id` and `type`, or a field is too long.
    case invalidPayload(String)
    /// No event has this id.
    case eventNotFound(String)
    /// Only a dead event can be replayed; this one is in another state.
    case notDead(eventID: String, state: WebhookEventState)
    /// A worker met an event type that no handler is registered for: a failed attempt.
    case noHandler(type: String)
    /// The payload is larger than ``WebhookInbox/maxPayloadBytes``; answer 413.
    case payloadTooLarge(bytes: Int, limit: Int)

    public var description: String {
        switch self {
        case .invalidSignature(let reason): "invalid webhook signature: \(reason)"
        case .invalidPayload(let reason): "invalid webhook payload: \(reason)"
        case .eventNotFound(let id): "no webhook event \(id)"
        case .notDead(let id, let state): "webhook event \(id) is \(state.rawValue), not dead: only dead events are replayed"
        case .noHandler(let type): "no handler for type \(type)"
        case .payloadTooLarge(let bytes, let limit):
            "webhook payload too large: \(bytes) bytes, the limit is \(limit) bytes (1 MiB)"
        }
    }
}
