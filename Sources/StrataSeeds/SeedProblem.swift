/// One thing wrong with a seed file, at a line of it.
///
/// ```swift
/// SeedProblem(file: "seeds/plans.json", line: 14, message: "price_minor must be an integer from 0 to 1000000000000, not -1").description
/// // "seeds/plans.json:14: price_minor must be an integer from 0 to 1000000000000, not -1"
/// ```
public struct SeedProblem: Sendable, Hashable, CustomStringConvertible {
    /// The file as it was named.
    public var file: String
    /// The 1-based line, or `nil` for the file as a whole (unreadable, empty).
    public var line: Int?
    public var message: String

    public init(file: String, line: Int?, message: String) {
        self.file = file
        self.line = line
        self.message = message
    }

    /// `file:line: message`, the form editors and terminals link to.
    public var description: String {
        if let line { return "\(file):\(line): \(message)" }
        return "\(file): \(message)"
    }
}
