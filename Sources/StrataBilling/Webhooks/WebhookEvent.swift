import Foundation
import StrataSQL

/// One stored provider event (`webhook_events`), as handlers and operators see it.
///
/// The payload is the JSON document the provider sent, as the database returns it (it
/// may reorder keys). Handlers read fields with ``string(at:)``.
///
/// ```swift
/// registry.register("checkout.session.completed") { event in
///     guard let customer = event.string(at: "data", "object", "metadata", "customer") else { … }
/// }
/// ```
public struct WebhookEvent: Sendable, Hashable {
    /// The row id, which `replay` and the attempt rows use.
    public var id: Int64
    /// `stripe`, …: provider event ids are unique per provider.
    public var provider: String
    /// The provider's event id (`evt_…`), case-sensitive.
    public var eventID: String
    /// The provider's event type (`invoice.payment_failed`).
    public var type: String
    /// The JSON payload's text.
    public var payload: String
    public var state: WebhookEventState
    /// Attempts made since the event was received or last replayed.
    public var attempts: Int
    /// When the event is next due; `nil` once processed or dead.
    public var nextAttemptAt: SQLTimestamp?
    public var leaseOwner: String?
    public var leaseExpiresAt: SQLTimestamp?
    /// The error of the most recent failed attempt; cleared when an attempt succeeds.
    public var lastError: String?
    public var receivedAt: SQLTimestamp
    public var processedAt: SQLTimestamp?

    public init(id: Int64, provider: String, eventID: String, type: String, payload: String,
                state: WebhookEventState, attempts: Int, nextAttemptAt: SQLTimestamp?, leaseOwner: String?,
                leaseExpiresAt: SQLTimestamp?, lastError: String?, receivedAt: SQLTimestamp, processedAt: SQLTimestamp?) {
        self.id = id
        self.provider = provider
        self.eventID = eventID
        self.type = type
        self.payload = payload
        self.state = state
        self.attempts = attempts
        self.nextAttemptAt = nextAttemptAt
        self.leaseOwner = leaseOwner
        self.leaseExpiresAt = leaseExpiresAt
        self.lastError = lastError
        self.receivedAt = receivedAt
        self.processedAt = processedAt
    }

    /// `provider:event id`: the request id of the event's audit rows, and the
    /// idempotency key of what its handlers do, so a retried attempt never does it twice.
    public var reference: String { "\(provider):\(eventID)" }

    /// The string at a path of object keys in the payload, or `nil` when a key is
    /// missing or the value is not a string.
    ///
    /// ```swift
    /// event.string(at: "data", "object", "id")   // "cs_test_123"
    /// ```
    public func string(at path: String...) -> String? {
        string(at: path)
    }

    /// The string at a path of object keys in the payload, or `nil`.
    public func string(at path: [String]) -> String? {
        guard var value = try? JSONSerialization.jsonObject(with: Data(payload.utf8)) else { return nil }
        for key in path {
            guard let object = value as? [String: Any], let next = object[key] else { return nil }
            value = next
        }
        return value as? String
    }

    /// The columns every query of an event selects.
    static let columns: SQLQuery = """
        id, provider, event_id, event_type, payload, state, attempts, next_attempt_at, lease_owner,
        lease_expires_at, last_error, received_at, processed_at
        """

}

/// A `webhook_events` row (``columns``), read with `row.decode(WebhookEvent.self)`.
extension WebhookEvent: Decodable {
    enum CodingKeys: String, CodingKey {
        case id, provider, payload, state, attempts
        case eventID = "event_id", type = "event_type", nextAttemptAt = "next_attempt_at", leaseOwner = "lease_owner"
        case leaseExpiresAt = "lease_expires_at", lastError = "last_error", receivedAt = "received_at"
        case processedAt = "processed_at"
    }
}
