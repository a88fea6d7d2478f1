import StrataSQL

/// The credit packages on sale, as `strata seed credit-packages` loaded them.
///
/// Packages are deactivated, never deleted (a purchase names its package), so the list
/// can hold inactive ones.
///
/// ```swift
/// for package in try await CreditPackageCatalogue(database: db).list(includeInactive: false) {
///     print(package.id, package.credits, package.priceMinor)
/// }
/// ```
public struct CreditPackageCatalogue: Sendable {
    public let database: Database

    public init(database: Database) {
        self.database = database
    }

    /// The packages, cheapest first (then by id, so the order is stable).
    ///
    /// - Parameter includeInactive: `false` leaves deactivated packages out.
    /// - Throws: ``DatabaseError``.
    public func list(includeInactive: Bool = true) async throws -> [CreditPackage] {
        try await database.withReplicaConnection { conn in
            var q: SQLQuery = """
                SELECT package_id, name, credits, price_minor, currency, provider_price_id, active FROM credit_packages
                """
            if !includeInactive { q.append(" WHERE active = \(true)") }
            q.append(" ORDER BY price_minor, package_id")
            return try conn.query(q).map { row in
                CreditPackage(id: try row.decode("package_id"), name: try row.decode("name"),
                              credits: try row.decode("credits"), priceMinor: try row.decode("price_minor"),
                              currency: try row.decode("currency"), providerPriceID: try row.decode("provider_price_id"),
                              active: try row.decode("active"))
            }
        }
    }
}
