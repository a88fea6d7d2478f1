import Logging
import StrataSQL

/// Reconciliation: proves, for a period, that every payment landed exactly once, and
/// names what did not.
///
/// A run checks the period [since, until) (see ``ReconciliationChecks`` for what "in the
/// period" means for each subject):
///
/// | check | kind found | amount |
/// |---|---|---|
/// | every paid checkout session of a processed `checkout.session.completed` / `async_payment_succeeded` event has exactly one purchase (ledger `external_reference` = session id) of its package's current credits | `missing_purchase`, `duplicate_purchase`, `wrong_credits` | credits |
/// | every purchase names the session of a stored checkout event | `purchase_without_event` | credits |
/// | every invoice stored as `paid` with an amount due has its payment recorded | `paid_invoice_without_payment` | minor units |
/// | every wallet's ledger verifies, whole (``WalletService/verifyLedger(customer:)``) | `ledger_inconsistent` | credits |
/// | no wallet is below zero | `negative_wallet` | credits |
/// | no webhook event is `processing` past its lease | `stuck_webhook` | none |
/// | with the provider's payments file: every row dated in the period names a stored payment, every stored payment of the period is in the file, with the same amount and currency | `provider_payment_missing`, `stored_payment_not_at_provider`, `amount_mismatch` | minor units |
///
/// **A payment recorded** for an invoice means: `amount_paid` ≥ `amount_due`, and a
/// processed `invoice.payment_succeeded` event of that invoice is stored. An invoice
/// that reached `paid` any other way (an event of another type carrying `status: paid`,
/// a hand-written row) or paid short is a discrepancy.
///
/// **Running twice.** A discrepancy is identified by (kind, subject type, subject id).
/// The first run that finds it stores it and writes its one `billing_audit` row (action
/// `reconcile.discrepancy`, the subject's type and id, the amount and what the check
/// saw); a later run that finds it again records only that it saw it (a finding of the
/// run, `last_run_id`), and writes no audit row. Every run is stored
/// (`reconciliation_runs`) with its counts and findings, and two runs over the same
/// period and the same data report the same discrepancies, with the same amounts; only
/// ``ReconciliationDiscrepancy/isNew`` tells the first from the second. The checks, the
/// run and its audit rows are one transaction.
///
/// **Idempotency keys** (`POST /billing/reconcile`) live in the scope `reconcile`; the
/// request's fingerprint is the period as asked (an omitted bound stays omitted, so a
/// retry of "until now" replays rather than conflicts) and the provider file's digest.
/// The same key and request replays the stored report (``ReconciliationReport/isReplay``);
/// another request under the key is ``IdempotencyError/conflict(scope:key:)``; one still
/// running is ``IdempotencyError/inProgress(scope:key:lockedUntil:)``.
///
/// ```swift
/// let reconciliation = ReconciliationService(database: db, clock: SystemClock(), logger: logger)
/// let report = try await reconciliation.run(since: monthStart, until: monthEnd, context: ctx)
/// for d in report.discrepancies { print(d.kind.rawValue, d.subjectID, d.amount, d.unit.rawValue) }
/// ```
public struct ReconciliationService: Sendable {
    /// The idempotency scope of reconciliation requests.
    public static let idempotencyScope = "reconcile"
    /// The start of a period that names none: the Unix epoch, so everything stored.
    public static let beginning = SQLTimestamp(microsecondsSinceEpoch: 0)
    /// The latest end a period may have, 9999-12-31T00:00:00Z: both backends store it.
    public static let latest = SQLTimestamp(microsecondsSinceEpoch: 253_402_214_400_000_000)

    public let database: Database
    public let clock: any BillingClock
    public let idempotency: IdempotencyStore
    let logger: Logger
    let metrics: ReconciliationMetrics

    /// - Parameters:
    ///   - database: a migrated billing database.
    ///   - clock: the time of the run, its audit rows, and "now" for expired leases.
    ///   - logger: where each run's summary is logged.
    public init(database: Database, clock: any BillingClock = SystemClock(), logger: Logger) {
        self.database = database
        self.clock = clock
        self.logger = logger
        self.idempotency = IdempotencyStore(database: database, clock: clock, logger: logger)
        self.metrics = ReconciliationMetrics()
    }

    /// Sets the gauges of the last reconciliation from the latest stored run, whichever
    /// process made it (a `strata reconcile` from the CLI, or another server): for a
    /// scrape of `/metrics`. Nothing is set before the first run.
    ///
    /// - Throws: ``DatabaseError``.
    public func sampleLatestRun() async throws {
        let latest: (count: Int64, credits: Int64, minorUnits: Int64)? = try await database.withConnection { conn in
            guard let row = try conn.queryFirst("""
                SELECT discrepancy_count, discrepancy_credits, discrepancy_minor_units
                FROM reconciliation_runs ORDER BY id DESC LIMIT 1
                """) else { return nil }
            return (try row.decode("discrepancy_count"), try row.decode("discrepancy_credits"),
                    try row.decode("discrepancy_minor_units"))
        }
        if let latest { metrics.show(count: latest.count, credits: latest.credits, minorUnits: latest.minorUnits) }
    }

    /// Checks a period, stores the run and audits what it found for the first time.
    ///
    /// - Parameters:
    ///   - since: the period's start, inclusive; `nil` for ``beginning``.
    ///   - until: the period's end, exclusive; `nil` for now.
    ///   - providerFile: the provider's payments, to match against the stored events.
    ///   - context: who runs it (the run's actor and the audit rows').
    ///   - idempotencyKey: makes a retried request return the first one's report.
    /// - Returns: the run's report; `isClean` when nothing was found.
    /// - Throws: ``ReconciliationError/invalidPeriod(since:until:)`` for a period that does not end after it
    ///   starts, or outside 1970 to 9999; ``IdempotencyError``, ``DatabaseError``.
    public func run(since: SQLTimestamp? = nil, until: SQLTimestamp? = nil, providerFile: ProviderPaymentsFile? = nil,
                    context: BillingContext, idempotencyKey: String? = nil) async throws -> ReconciliationReport {
        let start = since ?? Self.beginning
        let end = until ?? clock.now()
        guard end > start, start >= Self.beginning, end <= Self.latest else {
            throw ReconciliationError.invalidPeriod(since: start, until: end)
        }
        guard let idempotencyKey else {
            return finish(try await perform(start, end, providerFile, context, lease: nil))
        }
        let fingerprint = IdempotencyStore.fingerprint([
            "operation": "reconcile", "since": since?.iso8601 ?? "", "until": until?.iso8601 ?? "",
            "provider_file_sha256": providerFile?.sha256 ?? "",
        ])
        switch try await idempotency.claim(scope: Self.idempotencyScope, key: idempotencyKey, fingerprint: fingerprint) {
        case .completed(let response):
            var report = try response.decode(ReconciliationReport.self)
            report.isReplay = true
            return report
        case .acquired(let lease):
            do {
                return finish(try await perform(start, end, providerFile, context, lease: lease))
            } catch {
                await idempotency.release(lease)
                throw error
            }
        }
    }

    /// The run's one transaction: the checks, the stored run, its audit rows, and the
    /// idempotency key completed with the report.
    private func perform(_ since: SQLTimestamp, _ until: SQLTimestamp, _ providerFile: ProviderPaymentsFile?,
                         _ context: BillingContext, lease: IdempotencyLease?) async throws -> ReconciliationReport {
        let clock = self.clock
        let idempotency = self.idempotency
        return try await database.transaction(alsoRetrying: [.uniqueViolation]) { conn in
            let startedAt = clock.now()
            var checks = ReconciliationChecks(conn, since: since, until: until, now: startedAt)
            try checks.runAll(provider: providerFile)
            var seen: Set<String> = []
            let found = checks.found
                .sorted { ($0.kind.rawValue, $0.subjectType, $0.subjectID) < ($1.kind.rawValue, $1.subjectType, $1.subjectID) }
                .filter { seen.insert($0.key).inserted }
            let report = try ReconciliationStore.save(conn, period: (since, until), counts: checks.counts, found: found,
                                                      providerFileSHA256: providerFile?.sha256, context: context,
                                                      startedAt: startedAt, finishedAt: clock.now())
            if let lease { try idempotency.complete(lease, response: try SQLJSON(encoding: report), on: conn) }
            return report
        }
    }

    /// Logs and counts a committed run.
    private func finish(_ report: ReconciliationReport) -> ReconciliationReport {
        metrics.record(report)
        // Info, not a warning: the report is the answer; its discrepancies are stored and audited.
        logger.info("reconciliation run", metadata: [
            "run": "\(report.runID)", "since": "\(report.since.iso8601)", "until": "\(report.until.iso8601)",
            "discrepancies": "\(report.discrepancies.count)", "new": "\(report.newDiscrepancies)",
        ])
        return report
    }
}
