/// Something in a migrations directory that is valid but probably not meant,
/// such as an empty down file.
public struct MigrationWarning: Hashable, Sendable, CustomStringConvertible {
    /// The file concerned, relative to the migrations directory.
    public var file: String
    /// A one-line explanation.
    public var message: String

    /// Creates a warning.
    ///
    /// - Parameters:
    ///   - file: The file concerned, relative to the migrations directory.
    ///   - message: A one-line explanation.
    public init(file: String, message: String) {
        self.file = file
        self.message = message
    }

    public var description: String { "\(file): warning: \(message)" }
}
