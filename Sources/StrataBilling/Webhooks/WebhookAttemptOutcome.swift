/// How one processing attempt of a webhook event ended (`webhook_attempts.outcome`).
///
/// ```swift
/// let failures = try await inbox.attempts(eventID: id).filter { $0.outcome == .failed }
/// ```
public enum WebhookAttemptOutcome: String, Sendable, Hashable, CaseIterable, Codable {
    case succeeded
    case failed
}
