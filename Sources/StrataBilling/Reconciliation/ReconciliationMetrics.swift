import Metrics

/// The gauges of the last reconciliation run this process made, through swift-metrics:
/// what an alert on discrepancies watches.
///
/// | series | labels | what |
/// |---|---|---|
/// | `strata_reconciliation_discrepancies` | | discrepancies the last run found (new or seen before) |
/// | `strata_reconciliation_discrepancy_amount` | `unit`: `credits`, `minor_units` | the sum of their absolute amounts, by unit |
/// | `strata_reconciliation_runs_total` | | runs made (a replayed request is no run) |
///
/// Set once a run committed; a replay of a stored result changes nothing. The handles
/// are made with the service, from the metrics backend bootstrapped then (none by
/// default: a library never bootstraps; `strata serve` does).
///
/// ```swift
/// let metrics = ReconciliationMetrics()
/// metrics.record(report)
/// ```
struct ReconciliationMetrics: Sendable {
    static let discrepancies = "strata_reconciliation_discrepancies"
    static let amount = "strata_reconciliation_discrepancy_amount"
    private let count: Gauge
    private let credits: Gauge
    private let minorUnits: Gauge
    private let runs: Counter

    init() {
        count = Gauge(label: Self.discrepancies)
        credits = Gauge(label: Self.amount, dimensions: [("unit", ReconciliationAmountUnit.credits.rawValue)])
        minorUnits = Gauge(label: Self.amount, dimensions: [("unit", ReconciliationAmountUnit.minorUnits.rawValue)])
        runs = Counter(label: "strata_reconciliation_runs_total")
    }

    /// Records a committed run.
    func record(_ report: ReconciliationReport) {
        guard !report.isReplay else { return }
        runs.increment()
        show(count: Int64(report.discrepancies.count), credits: report.discrepancyCredits,
             minorUnits: report.discrepancyMinorUnits)
    }

    /// Sets the gauges to a run's discrepancy count and amounts.
    func show(count discrepancies: Int64, credits amountCredits: Int64, minorUnits amountMinorUnits: Int64) {
        count.record(discrepancies)
        credits.record(amountCredits)
        minorUnits.record(amountMinorUnits)
    }
}
