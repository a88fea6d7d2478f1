import Metrics

/// The counter of webhook events by outcome that ``WebhookInbox`` and ``RetryWorker``
/// keep, through swift-metrics: `strata_webhook_events_total{outcome}`.
///
/// | outcome | counted when |
/// |---|---|
/// | `stored` | a delivery's event was stored for the first time |
/// | `duplicate` | a delivery's event was already stored (acknowledged, ignored) |
/// | `rejected` | the inbox refused a delivery: a bad or stale signature, a malformed or oversized payload |
/// | `processed` | an attempt succeeded |
/// | `retry_scheduled` | an attempt failed and another is scheduled |
/// | `dead` | the last attempt failed: the event is in the dead-letter queue |
/// | `lease_lost` | an attempt's result was refused: its lease expired and another worker took the event |
/// | `replayed` | an administrator moved a dead event back to pending |
///
/// Each is counted once its transaction committed. The handles are made with the
/// inbox or worker, from the metrics backend bootstrapped then (none by default: a
/// library never bootstraps; `strata serve` does).
///
/// ```swift
/// let metrics = WebhookMetrics()
/// metrics.count(.processed)
/// ```
struct WebhookMetrics: Sendable {
    static let events = "strata_webhook_events_total"

    /// The values of the `outcome` label.
    enum Outcome: String, CaseIterable, Sendable {
        case stored, duplicate, rejected, processed
        case retryScheduled = "retry_scheduled"
        case dead
        case leaseLost = "lease_lost"
        case replayed
    }

    private let counters: [Outcome: Counter]

    init() {
        counters = Dictionary(uniqueKeysWithValues: Outcome.allCases.map { outcome in
            (outcome, Counter(label: Self.events, dimensions: [("outcome", outcome.rawValue)]))
        })
    }

    func count(_ outcome: Outcome) {
        counters[outcome]?.increment()
    }

    /// Counts a finished attempt by what was recorded.
    func record(_ result: WebhookAttemptResult) {
        switch result {
        case .processed: count(.processed)
        case .retryScheduled: count(.retryScheduled)
        case .dead: count(.dead)
        case .refused: count(.leaseLost)
        }
    }
}
