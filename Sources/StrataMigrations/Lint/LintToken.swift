import Foundation

/// A significant token of one statement, as the lint's recogniser reads it.
///
/// Words are lower-cased and quoted identifiers unquoted, so `"Wallets"` and
/// `` `wallets` `` compare as names and `CREATE` as the keyword `create`; a keyword
/// inside a string or a quoted identifier can never be mistaken for one. Comments and
/// blanks are gone.
struct LintToken: Sendable, Hashable {
    enum Kind: Sendable, Hashable {
        /// A keyword, an unquoted name or a number, lower-cased.
        case word
        /// A quoted identifier, without its quotes.
        case quotedIdentifier
        /// A string literal, without its quotes where they are plain ones.
        case string
        case symbol
        /// A MySQL executable comment `/*! … */`, kept whole and never read into.
        case opaque
    }

    var kind: Kind
    var text: String
    /// The 1-based line of the file on which the token starts.
    var line: Int

    /// Whether the token is the keyword `word` (given in lower case).
    func `is`(_ word: String) -> Bool { kind == .word && text == word }

    /// Whether the token is the symbol `symbol`.
    func isSymbol(_ symbol: String) -> Bool { kind == .symbol && text == symbol }

    /// The token as a name: a word or a quoted identifier.
    var name: String? { kind == .word || kind == .quotedIdentifier ? text : nil }

    /// Cuts a statement into significant tokens.
    ///
    /// - Parameters:
    ///   - statement: A statement of a migration file, as the splitter gives it.
    ///   - dialect: Whose lexical rules apply.
    /// - Returns: The tokens, each with its line in the file; empty if the statement
    ///   does not lex (the splitter already did, so it always does).
    static func tokens(of statement: SQLStatement, dialect: SQLSplitDialect) -> [LintToken] {
        var lexer = SQLLexer(statement.text, dialect: dialect)
        var tokens: [LintToken] = []
        let offset = statement.line - 1
        while let token = try? lexer.next() {
            let line = token.line + offset
            switch token.kind {
            case .whitespace, .lineComment, .blockComment, .delimiter, .delimiterCommand:
                continue
            case .executableComment:
                tokens.append(LintToken(kind: .opaque, text: lexer.text(token.range), line: line))
            case .word:
                tokens.append(LintToken(kind: .word, text: lexer.text(token.range).lowercased(), line: line))
            case .quotedIdentifier:
                let quoted = lexer.text(token.range)
                let quote = String(quoted.prefix(1))
                let inner = String(quoted.dropFirst().dropLast()).replacingOccurrences(of: quote + quote, with: quote)
                tokens.append(LintToken(kind: .quotedIdentifier, text: inner, line: line))
            case .string:
                let text = lexer.text(token.range)
                let plain = (text.hasPrefix("'") || text.hasPrefix("\"")) && text.count >= 2
                tokens.append(LintToken(kind: .string, text: plain ? String(text.dropFirst().dropLast()) : text, line: line))
            case .symbol:
                tokens.append(LintToken(kind: .symbol, text: lexer.text(token.range), line: line))
            }
        }
        return tokens
    }
}
