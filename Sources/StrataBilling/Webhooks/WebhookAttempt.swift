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

    init(row: Row) throws {
        let outcomeText: String = try row.decode("outcome")
        guard let outcome = WebhookAttemptOutcome(rawValue: outcomeText) else {
            throw RowDecodingError(column: "outcome", message: "unknown attempt outcome '\(outcomeText)'")
        }
        self.init(eventID: try row.decode("event_id"), number: try row.decode("attempt_number"),
                  startedAt: try row.decode("started_at"), finishedAt: try row.decode("finished_at"),
                  outcome: outcome, error: try row.decode("error"), worker: try row.decode("worker"))
    }
}
