/// What one seed run did to one catalogue.
///
/// A dry run reports the same counts a real run would have produced, and changed nothing.
///
/// ```swift
/// let reports = try await seeder.seed(SeedKind.allCases)
/// print(reports[0].summary)   // "inserted 22, updated 0, unchanged 0, deactivated 0"
/// ```
public struct SeedReport: Sendable, Hashable {
    public var kind: SeedKind
    /// The file as it was named (the seeds folder's label joined with the file name).
    public var file: String
    /// SHA-256 of the file's bytes, in lower-case hex.
    public var checksum: String
    /// Rows in the file.
    public var rows: Int
    /// Rows of the file that were not in the table.
    public var inserted: Int
    /// Rows of the file whose stored values differed.
    public var updated: Int
    /// Rows of the file stored exactly as the file says.
    public var unchanged: Int
    /// Active rows of the table missing from the file that were deactivated (`prune` only).
    public var deactivated: Int
    /// Whether the run only computed these counts.
    public var dryRun: Bool
    /// Whether rows missing from the file were deactivated.
    public var pruned: Bool

    public init(kind: SeedKind, file: String, checksum: String, rows: Int, inserted: Int, updated: Int,
                unchanged: Int, deactivated: Int, dryRun: Bool, pruned: Bool) {
        self.kind = kind
        self.file = file
        self.checksum = checksum
        self.rows = rows
        self.inserted = inserted
        self.updated = updated
        self.unchanged = unchanged
        self.deactivated = deactivated
        self.dryRun = dryRun
        self.pruned = pruned
    }

    /// Whether the run left the table as it was.
    public var changedNothing: Bool { inserted == 0 && updated == 0 && deactivated == 0 }

    /// `inserted 22, updated 0, unchanged 0, deactivated 0`.
    public var summary: String {
        "inserted \(inserted), updated \(updated), unchanged \(unchanged), deactivated \(deactivated)"
    }
}
