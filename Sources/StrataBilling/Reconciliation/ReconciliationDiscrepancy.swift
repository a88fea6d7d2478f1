/// One problem a reconciliation run found: its kind, its subject and its amount.
///
/// A discrepancy is identified by (``kind``, ``subjectType``, ``subjectID``): the
/// same problem found by a later run is the same discrepancy, with ``isNew`` false and
/// no second audit row.
///
/// ```swift
/// for d in report.discrepancies where d.kind == .missingPurchase {
///     print(d.subjectID, d.amount, d.unit)   // cs_test_42 1000 credits
/// }
/// ```
public struct ReconciliationDiscrepancy: Sendable, Hashable, Codable {
    public var kind: ReconciliationDiscrepancyKind
    /// `checkout_session`, `credit_transaction`, `invoice`, `wallet`, `webhook_event`, `provider_payment`.
    public var subjectType: String
    /// The session id, the ledger row id, `provider:invoice id`, the customer, `provider:event id`, the payment id.
    public var subjectID: String
    /// Signed as each kind says (see ``ReconciliationDiscrepancyKind``), in ``unit``.
    public var amount: Int64
    public var unit: ReconciliationAmountUnit
    /// The currency (ISO 4217, upper case) of an amount in minor units, when known.
    public var currency: String?
    /// What the check saw, for a person: customer, package, event ids, expected and found values.
    public var details: [String: String]
    /// Whether this run found it first (and wrote its audit row).
    public var isNew: Bool

    public init(kind: ReconciliationDiscrepancyKind, subjectType: String, subjectID: String, amount: Int64,
                unit: ReconciliationAmountUnit, currency: String? = nil, details: [String: String] = [:], isNew: Bool = false) {
        self.kind = kind
        self.subjectType = subjectType
        self.subjectID = subjectID
        self.amount = amount
        self.unit = unit
        self.currency = currency
        self.details = details
        self.isNew = isNew
    }

    /// The identity of the problem across runs.
    var key: String { "\(kind.rawValue)\u{0}\(subjectType)\u{0}\(subjectID)" }

    enum CodingKeys: String, CodingKey {
        case kind, amount, unit, currency, details
        case subjectType = "subject_type", subjectID = "subject_id", isNew = "is_new"
    }
}
