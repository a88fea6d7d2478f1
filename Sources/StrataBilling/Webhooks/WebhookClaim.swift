import StrataSQL

/// An event a ``RetryWorker`` has claimed: it holds the event's lease until
/// ``leaseExpiresAt``, and only a finish under this very lease is recorded.
///
/// ```swift
/// for claim in try await worker.claim(limit: 10) {
///     let result = try await worker.process(claim)
/// }
/// ```
public struct WebhookClaim: Sendable, Hashable {
    /// The event as it was claimed (state `processing`, this worker's lease).
    public var event: WebhookEvent
    /// The worker holding the lease.
    public var worker: String
    /// When the claim was made: the attempt's start.
    public var claimedAt: SQLTimestamp
    /// When another worker may take the event over.
    public var leaseExpiresAt: SQLTimestamp
    /// Whether the event was taken over from a worker whose lease had expired.
    public var reclaimed: Bool

    public init(event: WebhookEvent, worker: String, claimedAt: SQLTimestamp, leaseExpiresAt: SQLTimestamp, reclaimed: Bool) {
        self.event = event
        self.worker = worker
        self.claimedAt = claimedAt
        self.leaseExpiresAt = leaseExpiresAt
        self.reclaimed = reclaimed
    }
}
