/// A script the splitter cannot split, such as one with an unterminated string.
///
/// The line is where the offending construct starts, which is where a reader has to
/// look: an unterminated quote is reported on the line of its opening quote, not at
/// the end of the file.
public struct SQLSplitError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The 1-based line on which the offending construct starts.
    public var line: Int
    /// A one-line explanation, such as `unterminated quoted string`.
    public var message: String

    /// Creates an error.
    ///
    /// - Parameters:
    ///   - line: The 1-based line on which the offending construct starts.
    ///   - message: A one-line explanation.
    public init(line: Int, message: String) {
        self.line = line
        self.message = message
    }

    public var description: String { "line \(line): \(message)" }
}
