/// The name of a migration file, parsed: `<version>_<name>.up.sql` or `.down.sql`.
///
/// This is the golang-migrate naming, so existing golang-migrate folders load as they
/// are. The version is one to 20 digits and not zero. The name is whatever stands
/// between the version's underscore and `.up.sql` / `.down.sql`, as golang-migrate's
/// `^([0-9]+)_(.*)\.(down|up)\.(.*)$` takes it: mixed case, dots, dashes and spaces
/// included (`0001_Initial_Schema`, `0002_add.users.table`). Only an empty name and one
/// holding a control character are refused: the name goes into the history table and
/// into one-line messages, where a tab or a line break would garble them.
///
/// ```swift
/// let file = try MigrationFile(path: "postgres/0003_wallets.up.sql")
/// // file.version == MigrationVersion("3"), file.versionSpelling == "0003",
/// // file.name == "wallets", file.direction == .up
/// try MigrationFile(path: "0002_add.users.table.up.sql").name   // "add.users.table"
/// ```
public struct MigrationFile: Hashable, Sendable {
    /// The file's path relative to the migrations directory, such as
    /// `postgres/0003_wallets.up.sql`.
    public let path: String
    /// The version the name gives.
    public let version: MigrationVersion
    /// The version as the name spells it, leading zeros included.
    public let versionSpelling: String
    /// The part of the name after the version, such as `wallets`.
    public let name: String
    /// Whether the file is an up or a down.
    public let direction: MigrationDirection

    /// The file name without its folder.
    public var fileName: String { Self.lastComponent(of: path) }

    /// Parses a migration file's name.
    ///
    /// - Parameter path: The file's path relative to the migrations directory; only
    ///   its last component is parsed.
    /// - Throws: ``MigrationLoadError`` naming `path` when the name does not fit the
    ///   pattern, saying which part is wrong.
    public init(path: String) throws(MigrationLoadError) {
        self.path = path
        let fileName = Self.lastComponent(of: path)
        let suffixes = MigrationDirection.allCases.map { ($0, ".\($0.rawValue).sql") }
        guard let (direction, suffix) = suffixes.first(where: { fileName.hasSuffix($0.1) }),
              let underscore = fileName.firstIndex(of: "_")
        else {
            throw MigrationLoadError(
                file: path, message: "not a migration file name: expected <version>_<name>.up.sql or .down.sql")
        }
        self.direction = direction
        versionSpelling = String(fileName[..<underscore])
        name = String(fileName[fileName.index(after: underscore)...].dropLast(suffix.count))
        guard let version = MigrationVersion(versionSpelling) else {
            throw MigrationLoadError(
                file: path, message: "bad version \"\(versionSpelling)\": expected a positive integer of 1 to 20 digits")
        }
        self.version = version
        guard !name.isEmpty else {
            throw MigrationLoadError(file: path, message: "empty name: expected <version>_<name>.up.sql or .down.sql")
        }
        if let control = name.unicodeScalars.first(where: { $0.properties.generalCategory == .control }) {
            let hex = String(control.value, radix: 16, uppercase: true)
            let code = "U+" + String(repeating: "0", count: max(0, 4 - hex.count)) + hex
            throw MigrationLoadError(
                file: path.unicodeScalars.map { $0.properties.generalCategory == .control ? "?" : String($0) }.joined(),
                message: "bad name: it holds the control character \(code)")
        }
    }

    private static func lastComponent(of path: String) -> String {
        path.lastIndex(of: "/").map { String(path[path.index(after: $0)...]) } ?? path
    }
}
