/// A lexical token of a SQL script, as a byte range of the script's UTF-8.
struct SQLToken: Sendable {
    enum Kind: Sendable, Equatable {
        case whitespace
        case lineComment
        case blockComment
        /// MySQL `/*! … */` or MariaDB `/*M! … */`: the server executes it, so it is SQL.
        case executableComment
        case word
        /// A string literal of any kind: `'…'`, `E'…'`, `$tag$…$tag$`, MySQL `"…"`.
        case string
        /// A quoted identifier: `"…"` on PostgreSQL, `` `…` `` on MySQL.
        case quotedIdentifier
        case symbol
        /// The statement delimiter in force (`;` unless a MySQL `DELIMITER` changed it).
        case delimiter
        /// A whole MySQL `DELIMITER xx` line.
        case delimiterCommand
    }

    var kind: Kind
    var range: Range<Int>
    /// The 1-based line on which the token starts.
    var line: Int

    /// Whether the token belongs to a statement's text (comments and blanks do not).
    var isSignificant: Bool {
        switch kind {
        case .whitespace, .lineComment, .blockComment, .delimiter, .delimiterCommand: false
        case .executableComment, .word, .string, .quotedIdentifier, .symbol: true
        }
    }
}
