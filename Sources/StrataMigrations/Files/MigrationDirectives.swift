/// Instructions to Strata that a migration file gives in line comments.
///
/// A directive is a line comment of its own, anywhere in the file:
///
/// ```sql
/// -- strata:no-transaction
/// CREATE INDEX CONCURRENTLY wallets_customer ON credit_wallets (customer_id);
/// ```
///
/// Text after the directive's name is a free explanation
/// (`-- strata:irreversible: the data is gone`). A comment that starts with `strata:`
/// but names no known directive is an error, so a misspelt directive does not pass
/// unnoticed. Text inside strings and block comments is never a directive.
public struct MigrationDirectives: OptionSet, Hashable, Sendable {
    public let rawValue: Int

    public init(rawValue: Int) {
        self.rawValue = rawValue
    }

    /// `-- strata:no-transaction`: run the file's statements outside a transaction.
    public static let noTransaction = MigrationDirectives(rawValue: 1 << 0)
    /// `-- strata:irreversible`: the up has no down, and reverting it is refused.
    public static let irreversible = MigrationDirectives(rawValue: 1 << 1)
    /// `-- strata:lint-ignore CODE reason`: `strata migrate lint` accepts a finding
    /// here (see ``LintWaiver``); running the file ignores it.
    public static let lintIgnore = MigrationDirectives(rawValue: 1 << 2)

    private static let names: [(name: String, directive: MigrationDirectives)] = [
        ("no-transaction", .noTransaction),
        ("irreversible", .irreversible),
        ("lint-ignore", .lintIgnore),
    ]

    /// Reads the directives of a migration file.
    ///
    /// - Parameters:
    ///   - sql: The file's text.
    ///   - dialect: Whose lexical rules apply (MySQL `#` comments carry directives too).
    /// - Throws: ``SQLSplitError`` for a comment naming an unknown directive, or for a
    ///   file the splitter cannot lex.
    public init(parsing sql: String, dialect: SQLSplitDialect) throws(SQLSplitError) {
        self = []
        var lexer = SQLLexer(sql, dialect: dialect)
        while let token = try lexer.next() {
            guard token.kind == .lineComment else { continue }
            let comment = lexer.text(token.range)
            let body = comment.drop { $0 == "-" || $0 == "#" }.drop { $0 == " " || $0 == "\t" }
            guard body.hasPrefix("strata:") else { continue }
            let name = body.dropFirst("strata:".count).prefix { !$0.isWhitespace && $0 != ":" }
            guard !name.isEmpty else { continue }
            guard let known = Self.names.first(where: { $0.name == name }) else {
                let list = Self.names.map { "strata:\($0.name)" }.joined(separator: ", ")
                throw SQLSplitError(line: token.line, message: "unknown directive strata:\(name) (known: \(list))")
            }
            insert(known.directive)
        }
    }
}
