/// The migrations of one dialect, in version order, as a migrations directory holds them.
///
/// ``MigrationLoader`` makes a set after checking it: versions are unique, each up
/// has its down (or says it is irreversible), and every file lexes.
public struct MigrationSet: Hashable, Sendable {
    /// The dialect the scripts are written for.
    public let dialect: SQLSplitDialect
    /// The migrations, oldest version first.
    public let migrations: [Migration]
    /// Valid but suspicious things found while loading, such as an empty down file.
    public let warnings: [MigrationWarning]
    private let positions: [MigrationVersion: Int]

    /// Creates a set from migrations that are already checked, as a test or an
    /// application that builds its migrations in code may.
    ///
    /// - Parameters:
    ///   - dialect: The dialect the scripts are written for.
    ///   - migrations: Migrations with distinct versions, in any order.
    ///   - warnings: Warnings to carry along.
    public init(dialect: SQLSplitDialect, migrations: [Migration], warnings: [MigrationWarning] = []) {
        self.dialect = dialect
        self.migrations = migrations.sorted { $0.version < $1.version }
        self.warnings = warnings
        positions = Dictionary(self.migrations.enumerated().map { ($1.version, $0) }) { first, _ in first }
    }

    /// The migration with a version, if the set has it.
    ///
    /// - Parameter version: The version to look up.
    public subscript(version: MigrationVersion) -> Migration? {
        positions[version].map { migrations[$0] }
    }
}
