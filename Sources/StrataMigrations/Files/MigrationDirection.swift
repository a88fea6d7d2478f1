/// Which way a migration file moves the schema.
public enum MigrationDirection: String, Hashable, Sendable, CaseIterable {
    /// `.up.sql`: applies the change.
    case up
    /// `.down.sql`: reverts it.
    case down
}
