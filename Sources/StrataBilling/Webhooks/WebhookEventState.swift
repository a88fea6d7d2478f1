/// Where a stored webhook event is in its life.
///
/// `pending` → `processing` (a worker holds a lease) → `processed`, or back to `pending`
/// with a later `next_attempt_at` after a failed attempt, or `dead` after the last one.
/// A replay moves `dead` back to `pending`.
///
/// ```swift
/// if event.state == .dead { try await inbox.replay(eventID: event.id, context: ctx) }
/// ```
public enum WebhookEventState: String, Sendable, Hashable, CaseIterable, Codable {
    case pending
    case processing
    case processed
    case dead
}
