import StrataSQL

/// One finished processing attempt of a webhook event (`webhook_attempts`).
///
/// Attempt numbers count every try an event ever had: a replayed event's attempts go on
/// from where the history stopped (7, 8, …), while its retry budget starts again.
///
/// ```swift
/// for a in try await inbox.attempts(eventID: id) {
///     print(a.number, a.outcome, a.error ?? "")
/// }
/// ```
public struct WebhookAttempt: Sendable, Hashable {
    /// The event's row id.
    public var eventID: Int64
    /// 1, 2, … over the event's whole history.
    public var number: Int
    public var startedAt: SQLTimestamp
    public var finishedAt: SQLTimestamp
    public var outcome: WebhookAttemptOutcome
    public var error: String?
    /// The worker that made the attempt.
    public var worker: String

    public init(eventID: Int64, number: Int, startedAt: SQLTimestamp, finishedAt: SQLTimestamp,
                outcome: WebhookAttemptOutcome, error: String?, worker: String) {
        self.eventID = eventID
        self.number = number
        self.startedAt = startedAt
        self.finishedAt = finishedAt
        self.outcome = outcome
        self.error = error
        self.worker = worker
    }
}

/// A `webhook_attempts` row, read with `row.decode(WebhookAttempt.self)`.
extension WebhookAttempt: Decodable {
    enum CodingKeys: String, CodingKey {
        case outcome, error, worker
        case eventID = "event_id", number = "attempt_number", startedAt = "started_at", finishedAt = "finished_at"
    }
}
