/// The columns of one catalogue table that its seed file sets, with their rules.
///
/// `id`, `created_at` and `updated_at` are the table's own; every other column comes
/// from the file, so a file that names a column outside this list is refused.
struct CatalogueTable: Sendable {
    let kind: SeedKind
    /// Every column the file may hold, the natural key first.
    let columns: [SeedColumn]
    /// Columns besides the key whose values must differ between rows (unique in the table).
    let uniqueColumns: [String]

    var name: String { kind.table }
    var key: String { kind.naturalKey }

    func column(named name: String) -> SeedColumn? {
        columns.first { $0.name == name }
    }

    /// The most credits one agent run may cost: far above any real price, so a typo of
    /// a few extra zeros is caught.
    static let maxCreditsPerRun: Int64 = 1_000_000
    /// The largest credit amount (package, allowance, limit) a catalogue may name.
    static let maxCredits: Int64 = 1_000_000_000_000
    /// The largest price in minor units a catalogue may name.
    static let maxPriceMinor: Int64 = 1_000_000_000_000

    static func forKind(_ kind: SeedKind) -> CatalogueTable {
        let active = SeedColumn("active", .boolean, default: .boolean(true))
        switch kind {
        case .agentCosts:
            return CatalogueTable(kind: kind, columns: [
                SeedColumn("agent_key", .key(maxLength: 64)),
                SeedColumn("display_name", .text(maxLength: 191)),
                SeedColumn("credits_per_run", .integer(1...maxCreditsPerRun)),
                active,
            ], uniqueColumns: [])
        case .plans:
            return CatalogueTable(kind: kind, columns: [
                SeedColumn("code", .key(maxLength: 64)),
                SeedColumn("name", .text(maxLength: 191)),
                SeedColumn("price_minor", .integer(0...maxPriceMinor)),
                SeedColumn("currency", .currency),
                SeedColumn("billing_interval", .choice(["month", "year"])),
                SeedColumn("included_credits", .integer(0...maxCredits)),
                SeedColumn("usage_limit", .integer(0...maxCredits)),
                SeedColumn("features", .jsonObject),
                active,
            ], uniqueColumns: [])
        case .creditPackages:
            return CatalogueTable(kind: kind, columns: [
                SeedColumn("package_id", .key(maxLength: 64)),
                SeedColumn("name", .text(maxLength: 191)),
                SeedColumn("credits", .integer(1...maxCredits)),
                SeedColumn("price_minor", .integer(0...maxPriceMinor)),
                SeedColumn("currency", .currency),
                SeedColumn("provider_price_id", .identifier(maxLength: 191)),
                active,
            ], uniqueColumns: ["provider_price_id"])
        }
    }
}
