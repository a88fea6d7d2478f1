/// A versioned schema change: an up script and, unless irreversible, a down script.
///
/// ```swift
/// let set = try MigrationLoader.load(directory: URL(fileURLWithPath: "migrations"), dialect: .postgres)
/// for migration in set.migrations {
///     print(migration.version, migration.name, migration.up.statements.count)
/// }
/// ```
public struct Migration: Hashable, Sendable, Identifiable {
    /// The migration's version; its identity.
    public let version: MigrationVersion
    /// The migration's name, such as `create_wallets`.
    public let name: String
    /// The script that applies the change.
    public let up: MigrationScript
    /// The script that reverts it; `nil` when the up says `-- strata:irreversible`.
    public let down: MigrationScript?

    /// Creates a migration from its scripts.
    ///
    /// - Parameters:
    ///   - up: The up script; it gives the version and the name.
    ///   - down: The down script, or `nil` for an irreversible migration.
    public init(up: MigrationScript, down: MigrationScript?) {
        version = up.file.version
        name = up.file.name
        self.up = up
        self.down = down
    }

    public var id: MigrationVersion { version }

    /// Whether reverting the migration is refused: its up says `-- strata:irreversible`.
    public var isIrreversible: Bool { down == nil }

    /// The script for a direction; `nil` for `.down` of an irreversible migration.
    ///
    /// - Parameter direction: Up or down.
    public func script(_ direction: MigrationDirection) -> MigrationScript? {
        direction == .up ? up : down
    }
}
