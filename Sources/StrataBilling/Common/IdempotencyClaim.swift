import StrataSQL

/// The outcome of claiming an idempotency key: run the operation, or replay its result.
///
/// ```swift
/// switch try await store.claim(scope: scope, key: key, fingerprint: fingerprint) {
/// case .acquired(let lease): …            // run, then complete(lease, …) in the same transaction
/// case .completed(let response): …        // the first request's stored response
/// }
/// ```
public enum IdempotencyClaim: Sendable, Hashable {
    /// The key is this request's: run the operation, then complete or release the lease.
    case acquired(IdempotencyLease)
    /// The same request already completed; this is its stored response.
    case completed(response: SQLJSON)
}
