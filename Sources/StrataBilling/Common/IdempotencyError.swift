import StrataSQL

/// Why an idempotency key refused a request. The operation did not run.
///
/// ```swift
/// do {
///     try await wallets.charge(customer: "acme", agentKey: "code_reviewer", runID: "run-9",
///                              context: ctx, idempotencyKey: "req-1")
/// } catch IdempotencyError.inProgress {
///     // the first request with this key is still running: retry later
/// }
/// ```
public enum IdempotencyError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The key was used before for a different request.
    case conflict(scope: String, key: String)
    /// The first request with this key is still running; its lock lasts until `lockedUntil`.
    case inProgress(scope: String, key: String, lockedUntil: SQLTimestamp)
    /// This request's lock on the key expired and another request took the key over, so
    /// this one was rolled back.
    case lockLost(scope: String, key: String)
    /// The key is empty or longer than 191 characters.
    case invalidKey(String)

    public var description: String {
        switch self {
        case .conflict(_, let key):
            "idempotency key '\(key)' was already used for a different request"
        case .inProgress(_, let key, let until):
            "a request with idempotency key '\(key)' is still in progress (locked until \(until.iso8601))"
        case .lockLost(_, let key):
            "the lock on idempotency key '\(key)' expired and another request took it over"
        case .invalidKey(let key):
            "invalid idempotency key '\(key.prefix(40))': use 1 to 191 characters"
        }
    }
}
