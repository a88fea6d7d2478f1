/// Which migrations `strata migrate lint` judges; the others only build the schema the
/// judged ones start from.
public enum LintScope: Sendable, Hashable {
    /// Every migration: tables are new only where the files create them.
    case all
    /// Versions at or above one (`--since V`).
    case since(MigrationVersion)
    /// Every version but these (`--pending`: the database applied these).
    case excluding(Set<MigrationVersion>)

    /// Whether a version is judged.
    public func contains(_ version: MigrationVersion) -> Bool {
        switch self {
        case .all: true
        case .since(let first): version >= first
        case .excluding(let applied): !applied.contains(version)
        }
    }
}
