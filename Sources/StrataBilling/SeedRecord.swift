/// One validated row of a seed file: every column of its table, defaults filled in.
struct SeedRecord: Sendable {
    /// The 1-based line the row starts on.
    let line: Int
    /// The natural key's value.
    let key: String
    /// A value for every column of the catalogue table.
    let values: [String: SeedValue]
}
