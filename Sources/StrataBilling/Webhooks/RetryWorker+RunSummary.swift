extension RetryWorker {
    /// What one ``RetryWorker/runDue(limit:)`` pass did.
    ///
    /// ```swift
    /// let summary = try await worker.runDue(limit: 20)
    /// print("\(summary.processed) processed, \(summary.retried) to retry, \(summary.dead) dead")
    /// ```
    public struct RunSummary: Sendable, Hashable {
        /// Events claimed (due ones and ones whose lease had expired).
        public var claimed = 0
        /// Of the claimed ones, those taken over from a worker whose lease had expired.
        public var reclaimed = 0
        public var processed = 0
        /// Failed attempts that scheduled another one.
        public var retried = 0
        /// Failed last attempts: the events are dead.
        public var dead = 0
        /// Results refused because the lease had expired meanwhile.
        public var refused = 0
        /// Attempts whose result could not be written (a database error, logged); the
        /// event is taken over again when its lease expires.
        public var unrecorded = 0
        /// Each claimed event's result, by row id; an unrecorded one is absent.
        public var results: [Int64: WebhookAttemptResult] = [:]

        public init() {}

        mutating func add(_ id: Int64, _ result: WebhookAttemptResult) {
            results[id] = result
            switch result {
            case .processed: processed += 1
            case .retryScheduled: retried += 1
            case .dead: dead += 1
            case .refused: refused += 1
            }
        }
    }
}
