import StrataSQL

/// A request's hold on an idempotency key that is `in_progress`.
///
/// The lease is the row and the `locked_at` this request wrote: completing or releasing
/// the key only succeeds while the row still carries that `locked_at`, so a request whose
/// lock expired and was taken over cannot overwrite the new owner's work.
///
/// ```swift
/// if case .acquired(let lease) = try await store.claim(scope: "wallet:acme", key: "req-1", fingerprint: fp) {
///     print(lease.lockedAt)
/// }
/// ```
public struct IdempotencyLease: Sendable, Hashable {
    public var id: Int64
    public var scope: String
    public var key: String
    public var lockedAt: SQLTimestamp

    public init(id: Int64, scope: String, key: String, lockedAt: SQLTimestamp) {
        self.id = id
        self.scope = scope
        self.key = key
        self.lockedAt = lockedAt
    }
}
