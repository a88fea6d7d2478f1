/// Something in a migrations directory that is valid but probably not meant,
/// such as an empty down file.
public struct MigrationWarning: Hashable, Sendable, CustomStringConvertible {
    /// The file concerned, relative to the migrations directory.
    public var file: String
    /// The 1-based line concerned, when the warning is about a place in the file.
    public var line: Int?
    /// A one-line explanation.
    public var message: String

    /// Creates a warning.
    ///
    /// - Parameters:
    ///   - file: The file concerned, relative to the migrations directory.
    ///   - line: The 1-based line concerned, if any.
    ///   - message: A one-line explanation.
    public init(file: String, line: Int? = nil, message: String) {
        self.file = file
        self.line = line
        self.message = message
    }

    public var description: String { "\(file)\(line.map { ":\($0)" } ?? ""): warning: \(message)" }
}
