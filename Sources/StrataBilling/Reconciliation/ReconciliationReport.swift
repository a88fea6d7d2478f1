import StrataSQL

/// The result of one reconciliation run: what it checked, what it found, and the totals.
///
/// Stored as a row of `reconciliation_runs` and its findings; `Codable` with snake-case
/// keys and ISO 8601 times, the JSON an idempotency key keeps as its response and
/// `strata reconcile --json` prints (as `run`).
///
/// ```swift
/// let report = try await reconciliation.run(since: t0, until: t1, context: ctx)
/// if !report.isClean { report.discrepancies.forEach { print($0.kind, $0.subjectID, $0.amount) } }
/// ```
public struct ReconciliationReport: Sendable, Hashable, Codable {
    /// The `reconciliation_runs` row.
    public var runID: Int64
    /// The period checked: from `since` (inclusive) to `until` (exclusive).
    public var since: SQLTimestamp
    public var until: SQLTimestamp
    public var actor: String
    /// SHA-256 (hex) of the provider's payments file, when one was matched.
    public var providerFileSHA256: String?
    public var counts: ReconciliationCounts
    /// Sorted by kind, subject type and subject id.
    public var discrepancies: [ReconciliationDiscrepancy]
    public var startedAt: SQLTimestamp
    public var finishedAt: SQLTimestamp
    /// Whether this is the stored result of an earlier request with the same idempotency key.
    public var isReplay: Bool = false

    public init(runID: Int64, since: SQLTimestamp, until: SQLTimestamp, actor: String, providerFileSHA256: String?,
                counts: ReconciliationCounts, discrepancies: [ReconciliationDiscrepancy],
                startedAt: SQLTimestamp, finishedAt: SQLTimestamp) {
        self.runID = runID
        self.since = since
        self.until = until
        self.actor = actor
        self.providerFileSHA256 = providerFileSHA256
        self.counts = counts
        self.discrepancies = discrepancies
        self.startedAt = startedAt
        self.finishedAt = finishedAt
    }

    /// No discrepancy found.
    public var isClean: Bool { discrepancies.isEmpty }

    /// The discrepancies this run found first (and audited).
    public var newDiscrepancies: Int64 { Int64(discrepancies.filter(\.isNew).count) }

    /// The sum of the absolute amounts in credits.
    public var discrepancyCredits: Int64 { total(.credits) }

    /// The sum of the absolute amounts in minor units, whatever their currency: a size
    /// for an alert, not a sum of money (see each discrepancy for its currency).
    public var discrepancyMinorUnits: Int64 { total(.minorUnits) }

    private func total(_ unit: ReconciliationAmountUnit) -> Int64 {
        discrepancies.filter { $0.unit == unit }.reduce(0) { sum, d in sum &+ Int64(clamping: d.amount.magnitude) }
    }

    enum CodingKeys: String, CodingKey {
        case since, until, actor, counts, discrepancies
        case runID = "run_id", providerFileSHA256 = "provider_file_sha256", startedAt = "started_at",
             finishedAt = "finished_at", discrepancyCount = "discrepancy_count",
             discrepancyCredits = "discrepancy_credits", discrepancyMinorUnits = "discrepancy_minor_units"
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        runID = try c.decode(Int64.self, forKey: .runID)
        since = try c.decode(SQLTimestamp.self, forKey: .since)
        until = try c.decode(SQLTimestamp.self, forKey: .until)
        actor = try c.decode(String.self, forKey: .actor)
        providerFileSHA256 = try c.decodeIfPresent(String.self, forKey: .providerFileSHA256)
        counts = try c.decode(ReconciliationCounts.self, forKey: .counts)
        discrepancies = try c.decode([ReconciliationDiscrepancy].self, forKey: .discrepancies)
        startedAt = try c.decode(SQLTimestamp.self, forKey: .startedAt)
        finishedAt = try c.decode(SQLTimestamp.self, forKey: .finishedAt)
    }

    /// Times as ISO 8601 text; the totals too, for a reader of the JSON.
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(runID, forKey: .runID)
        try c.encode(since.iso8601, forKey: .since)
        try c.encode(until.iso8601, forKey: .until)
        try c.encode(actor, forKey: .actor)
        try c.encode(providerFileSHA256, forKey: .providerFileSHA256)
        try c.encode(counts, forKey: .counts)
        try c.encode(discrepancies, forKey: .discrepancies)
        try c.encode(Int64(discrepancies.count), forKey: .discrepancyCount)
        try c.encode(discrepancyCredits, forKey: .discrepancyCredits)
        try c.encode(discrepancyMinorUnits, forKey: .discrepancyMinorUnits)
        try c.encode(startedAt.iso8601, forKey: .startedAt)
        try c.encode(finishedAt.iso8601, forKey: .finishedAt)
    }
}
