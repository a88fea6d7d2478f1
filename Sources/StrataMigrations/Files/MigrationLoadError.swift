/// A migrations directory that cannot be loaded, naming the file at fault.
///
/// The description is one line in the `file:line: message` form that editors and CI
/// logs link to, for example
/// `postgres/0003_x.up.sql: no matching .down.sql (add one, or mark the up with -- strata:irreversible)`.
/// Paths are relative to the migrations directory.
public struct MigrationLoadError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The file at fault, relative to the migrations directory, or the directory itself.
    public var file: String
    /// The 1-based line at fault, when the fault is inside the file.
    public var line: Int?
    /// A one-line explanation.
    public var message: String

    /// Creates an error.
    ///
    /// - Parameters:
    ///   - file: The file at fault, relative to the migrations directory.
    ///   - line: The 1-based line at fault, if any.
    ///   - message: A one-line explanation.
    public init(file: String, line: Int? = nil, message: String) {
        self.file = file
        self.line = line
        self.message = message
    }

    public var description: String {
        line.map { "\(file):\($0): \(message)" } ?? "\(file): \(message)"
    }
}
