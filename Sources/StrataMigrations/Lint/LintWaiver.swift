/// A `-- strata:lint-ignore CODE reason` comment: the author's decision that a finding
/// is acceptable here, and why.
///
/// The waiver covers the statement it stands on or the first statement after it; a
/// finding about the whole file (a missing down, say) is covered by a waiver anywhere
/// in the file. Several codes may be listed, separated by commas or blanks. The reason
/// is mandatory, since a waiver without one tells the next reader nothing: it waives
/// nothing and is reported itself (ST404).
///
/// ```sql
/// -- strata:lint-ignore DS103 the column has been unused since 0042 and is empty
/// ALTER TABLE customers DROP COLUMN legacy_code;
/// ```
public struct LintWaiver: Hashable, Sendable {
    /// The rule codes waived, upper case, as written.
    public var codes: [String]
    /// The author's reason; empty when none was given.
    public var reason: String
    /// The 1-based line of the comment.
    public var line: Int

    /// The directive's spelling, after the comment marker.
    static let directive = "strata:lint-ignore"

    /// Reads a waiver from a line comment's text.
    ///
    /// - Parameters:
    ///   - comment: The whole comment, `--` or `#` included.
    ///   - line: The comment's line.
    /// - Returns: `nil` when the comment is not a lint-ignore directive.
    init?(comment: String, line: Int) {
        let body = comment.drop { $0 == "-" || $0 == "#" }.drop { $0 == " " || $0 == "\t" }
        guard body.hasPrefix(Self.directive) else { return nil }
        var rest = body.dropFirst(Self.directive.count)
        guard rest.isEmpty || rest.first == " " || rest.first == "\t" || rest.first == ":" else { return nil }
        var codes: [String] = []
        while true {
            rest = rest.drop { $0 == " " || $0 == "\t" || $0 == "," || $0 == ":" }
            let word = rest.prefix { !$0.isWhitespace && $0 != "," && $0 != ":" }
            guard Self.looksLikeCode(word) else { break }
            codes.append(word.uppercased())
            rest = rest.dropFirst(word.count)
        }
        self.codes = codes
        reason = String(rest.drop { $0 == " " || $0 == "\t" || $0 == "-" || $0 == ":" || $0 == "—" })
            .trimmingTrailingBlanks()
        self.line = line
    }

    /// Two letters and three digits, the shape of every rule code.
    private static func looksLikeCode(_ word: Substring) -> Bool {
        let bytes = Array(word.utf8)
        return bytes.count == 5
            && bytes.prefix(2).allSatisfy { (0x41...0x5A).contains($0 & ~0x20) }
            && bytes.suffix(3).allSatisfy { (0x30...0x39).contains($0) }
    }
}

private extension String {
    func trimmingTrailingBlanks() -> String {
        var result = self
        while let last = result.last, last.isWhitespace { result.removeLast() }
        return result
    }
}
