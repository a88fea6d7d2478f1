/// One validated row of a seed file: the values it gives.
///
/// A column with a default may be left out (no such column in the CSV header, an
/// empty field, no such field in a JSON object): a new row then takes the default and a
/// stored row keeps what it has, so a file without `active` never reactivates a row.
struct SeedRecord: Sendable {
    /// The 1-based line the row starts on.
    let line: Int
    /// The natural key's value.
    let key: String
    /// A value for every required column and for each optional one the file gives.
    let values: [String: SeedValue]
}
