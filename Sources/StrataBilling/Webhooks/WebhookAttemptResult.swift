import StrataSQL

/// What finishing one attempt of a claimed webhook event recorded.
///
/// ```swift
/// switch try await worker.process(claim) {
/// case .processed: break
/// case .retryScheduled(let at): logger.info("retry", metadata: ["at": "\(at)"])
/// case .dead(let error): alert(error)
/// case .refused: break   // the lease had expired; the event's new owner decides
/// }
/// ```
public enum WebhookAttemptResult: Sendable, Hashable {
    /// The handler succeeded; the event is processed.
    case processed
    /// The handler failed; the event is pending again, due at this time.
    case retryScheduled(at: SQLTimestamp)
    /// The handler failed on the last attempt; the event is dead with this error.
    case dead(error: String)
    /// The lease was no longer this worker's, so nothing was recorded.
    case refused
}
