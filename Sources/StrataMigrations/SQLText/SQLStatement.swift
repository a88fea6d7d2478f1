/// One statement of a SQL script, as the server will receive it.
///
/// The text starts at the statement's first token and ends at its last, so leading
/// and trailing comments and blanks and the terminating delimiter are not part of it;
/// comments inside the statement are kept.
///
/// ```swift
/// let statements = try SQLSplitter.split("SELECT 1;\n\nSELECT 2", dialect: .postgres)
/// // [SQLStatement(text: "SELECT 1", line: 1, index: 0),
/// //  SQLStatement(text: "SELECT 2", line: 3, index: 1)]
/// ```
public struct SQLStatement: Hashable, Sendable {
    /// The statement's SQL, without the terminating delimiter.
    public var text: String
    /// The 1-based line of the script on which the statement's first token starts.
    public var line: Int
    /// The 0-based position of the statement in its script.
    public var index: Int
    /// Whether this is a whole MySQL `DELIMITER` chunk that the splitter could not cut
    /// where the server's grammar would, because its `BEGIN … END` blocks do not
    /// balance: it goes to the server as one statement, as the `mysql` client sends it,
    /// and the loader warns about it.
    public var isUnsplitChunk: Bool

    /// Creates a statement.
    ///
    /// - Parameters:
    ///   - text: The statement's SQL, without the terminating delimiter.
    ///   - line: The 1-based line on which the statement starts.
    ///   - index: The 0-based position of the statement in its script.
    ///   - isUnsplitChunk: Whether it is a `DELIMITER` chunk sent whole.
    public init(text: String, line: Int, index: Int, isUnsplitChunk: Bool = false) {
        self.text = text
        self.line = line
        self.index = index
        self.isUnsplitChunk = isUnsplitChunk
    }
}
