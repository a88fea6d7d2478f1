/// A seed file's text does not follow its format (CSV or JSON), at a line.
///
/// ```swift
/// TextSyntaxError(line: 3, message: "quoted field never closed").description   // "line 3: quoted field never closed"
/// ```
public struct TextSyntaxError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The 1-based line where the problem was found.
    public var line: Int
    public var message: String

    public init(line: Int, message: String) {
        self.line = line
        self.message = message
    }

    public var description: String { "line \(line): \(message)" }
}
