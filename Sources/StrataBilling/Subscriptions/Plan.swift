import StrataSQL

/// One plan of the catalogue (`plans`), as `strata seed plans` loads it.
///
/// Prices are in minor units of `currency`; `usageLimit` is what a subscription may
/// use per period before its 100 % alert fires (usage is not blocked at the limit:
/// the alerts tell, the application decides).
///
/// ```swift
/// for plan in try await subscriptions.plans() {
///     print(plan.code, plan.priceMinor, plan.interval, plan.usageLimit)   // pro 4900 month 50000
/// }
/// ```
public struct Plan: Sendable, Hashable {
    public var id: Int64
    public var code: String
    public var name: String
    public var priceMinor: Int64
    /// ISO 4217, three letters.
    public var currency: String
    public var interval: BillingInterval
    public var includedCredits: Int64
    /// Units a subscription may use per period; 0 means none at all.
    public var usageLimit: Int64
    /// The plan's features as a JSON object's text.
    public var features: String
    public var active: Bool

    public init(id: Int64, code: String, name: String, priceMinor: Int64, currency: String, interval: BillingInterval,
                includedCredits: Int64, usageLimit: Int64, features: String, active: Bool) {
        self.id = id
        self.code = code
        self.name = name
        self.priceMinor = priceMinor
        self.currency = currency
        self.interval = interval
        self.includedCredits = includedCredits
        self.usageLimit = usageLimit
        self.features = features
        self.active = active
    }
}

/// A `plans` row, read with `row.decode(Plan.self)`.
extension Plan: Decodable {
    enum CodingKeys: String, CodingKey {
        case id, code, name, currency, features, active
        case priceMinor = "price_minor", interval = "billing_interval", includedCredits = "included_credits"
        case usageLimit = "usage_limit"
    }
}

extension Plan {
    /// The columns a decoded plan reads.
    static let columns: SQLQuery = """
        id, code, name, price_minor, currency, billing_interval, included_credits, usage_limit, features, active
        """

    /// The plan with this code, or `nil`.
    static func find(_ conn: any SQLConnection, code: String) throws -> Plan? {
        try conn.queryFirst("SELECT \(columns) FROM plans WHERE code = \(code)")?.decode(Plan.self)
    }

    /// The plan with this id, or `nil`.
    static func find(_ conn: any SQLConnection, id: Int64) throws -> Plan? {
        try conn.queryFirst("SELECT \(columns) FROM plans WHERE id = \(id)")?.decode(Plan.self)
    }
}
