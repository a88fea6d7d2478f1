/// Splits a SQL script into the statements a server executes one at a time.
///
/// The splitter is a lexer, not a pattern match: it knows every kind of string, quoted
/// identifier and comment of the dialect, so a `;` inside any of them never ends a
/// statement. On PostgreSQL it follows `psql` (dollar quotes, `E''` strings, nested
/// block comments, a `;` inside parentheses or a `BEGIN ATOMIC` body); on MySQL it
/// follows the `mysql` client (backslash escapes, backticks, `#` comments, executable
/// `/*! … */` comments and `DELIMITER` lines) and, where the client would send a whole
/// file or chunk with multi-statements, the server's grammar (``SQLCompoundDepth``): a
/// stored program's `BEGIN … END` body written without `DELIMITER` stays whole, and a
/// `DELIMITER` chunk of several statements splits into them, so each runs and is
/// recorded on its own.
///
/// ```swift
/// let statements = try SQLSplitter.split("""
///     CREATE FUNCTION touch() RETURNS trigger AS $$
///     BEGIN NEW.updated_at = now(); RETURN NEW; END
///     $$ LANGUAGE plpgsql;
///     CREATE INDEX CONCURRENTLY wallets_customer ON wallets (customer_id);
///     """, dialect: .postgres)
/// // statements.count == 2; statements[1].line == 4
/// SQLSplitter.requiresNoTransaction(statements[1])  // true
/// ```
public enum SQLSplitter {
    /// Splits a script into its statements.
    ///
    /// A statement made only of blanks and comments is dropped, so a file that holds
    /// only comments yields no statement; the last statement needs no delimiter.
    /// Leading and trailing comments of a statement are not part of its text.
    ///
    /// - Parameters:
    ///   - sql: The script, with LF, CRLF or CR line endings.
    ///   - dialect: Whose lexical rules apply.
    /// - Returns: The statements in script order, numbered from 0.
    /// - Throws: ``SQLSplitError`` naming the line where an unterminated string,
    ///   quoted identifier, dollar quote or block comment starts, or a malformed
    ///   `DELIMITER` line.
    public static func split(_ sql: String, dialect: SQLSplitDialect) throws(SQLSplitError) -> [SQLStatement] {
        var lexer = SQLLexer(sql, dialect: dialect)
        var statements: [SQLStatement] = []
        // The statements of the current chunk: the text up to the delimiter in force.
        // A MySQL chunk after `DELIMITER $$` may hold several, separated by `;`.
        var pieces: [(range: Range<Int>, line: Int)] = []
        var chunkIsConsistent = true
        var current: (range: Range<Int>, line: Int)?
        var depth = SQLBlockDepth()
        var compound = SQLCompoundDepth()
        var isOpen: Bool { dialect == .postgres ? depth.isOpen : compound.isOpen }

        func finishPiece() {
            if let current { pieces.append(current) }
            chunkIsConsistent = chunkIsConsistent && compound.isConsistent
            current = nil
            depth = SQLBlockDepth()
            compound = SQLCompoundDepth()
        }
        func finishChunk() {
            if dialect == .mysql, compound.isOpen, pieces.count > 0 { chunkIsConsistent = false }
            finishPiece()
            var unsplit = false
            if !chunkIsConsistent, let first = pieces.first, let last = pieces.last, pieces.count > 1 {
                // Where the grammar tracker lost its way, the chunk goes as the `mysql`
                // client sends it: whole.
                pieces = [(first.range.lowerBound..<last.range.upperBound, first.line)]
                unsplit = true
            }
            for piece in pieces {
                statements.append(SQLStatement(text: lexer.text(piece.range), line: piece.line, index: statements.count,
                                               isUnsplitChunk: unsplit))
            }
            pieces = []
            chunkIsConsistent = true
        }
        func extend(with token: SQLToken) {
            if let start = current {
                current = (start.range.lowerBound..<token.range.upperBound, start.line)
            } else {
                current = (token.range, token.line)
            }
            switch dialect {
            case .postgres: depth.observe(token, in: lexer.bytes)
            case .mysql: compound.observe(token, in: lexer.bytes)
            }
        }

        while let token = try lexer.next() {
            switch token.kind {
            case .delimiterCommand:
                finishChunk()
            case .delimiter where !isOpen || (dialect == .mysql && !lexer.delimiterIsSemicolon):
                // The `mysql` client ends a chunk at its delimiter, whatever the chunk holds.
                finishChunk()
            case .delimiter:
                // A `;` inside parentheses (PostgreSQL) or a routine's body belongs to it.
                extend(with: token)
            case .symbol where dialect == .mysql && !isOpen && lexer.bytes[token.range.lowerBound] == UInt8(ascii: ";"):
                // Only under another delimiter is `;` a symbol: inside a chunk, it ends a
                // statement where the server's grammar ends one.
                finishPiece()
            case _ where token.isSignificant:
                extend(with: token)
            default:
                break
            }
        }
        finishChunk()
        return statements
    }

    /// Whether PostgreSQL refuses to run a statement inside a transaction block.
    ///
    /// Such a statement has to run on its own, outside the transaction that normally
    /// wraps a migration. The check reads the statement's tokens, so comments and
    /// blanks between keywords do not matter and a keyword inside a string or a quoted
    /// identifier does not count. It recognises `CREATE | DROP INDEX CONCURRENTLY`,
    /// `REINDEX … CONCURRENTLY` and `REINDEX SCHEMA | DATABASE | SYSTEM`,
    /// `ALTER TYPE … ADD VALUE`, `CREATE | DROP DATABASE`, `CREATE | DROP TABLESPACE`,
    /// `ALTER DATABASE … SET TABLESPACE`, `ALTER TABLE … DETACH PARTITION … CONCURRENTLY`,
    /// `VACUUM` and `ALTER SYSTEM`.
    ///
    /// `ALTER TYPE … ADD VALUE` is accepted in a transaction since PostgreSQL 12, but
    /// the new value cannot be used before the transaction commits, so it is listed.
    ///
    /// - Parameter statement: A PostgreSQL statement, as ``split(_:dialect:)`` returns it.
    /// - Returns: `true` when the statement must run outside a transaction.
    public static func requiresNoTransaction(_ statement: SQLStatement) -> Bool {
        var lexer = SQLLexer(statement.text, dialect: .postgres)
        var words: [String] = []
        // A statement that does not lex would fail on the server anyway.
        while let token = try? lexer.next() {
            switch token.kind {
            case .word: words.append(lexer.text(token.range).lowercased())
            case .symbol: words.append(lexer.text(token.range))
            case .string, .quotedIdentifier: words.append("\"")
            default: break
            }
        }
        func word(_ index: Int) -> String? { index < words.count ? words[index] : nil }
        func follows(_ first: String, _ second: String) -> Bool {
            zip(words, words.dropFirst()).contains { $0 == first && $1 == second }
        }

        switch word(0) {
        case "create":
            let index = word(1) == "unique" ? 2 : 1
            return ["database", "tablespace"].contains(word(1))
                || (word(index) == "index" && word(index + 1) == "concurrently")
        case "drop":
            return ["database", "tablespace"].contains(word(1))
                || (word(1) == "index" && word(2) == "concurrently")
        case "reindex":
            // REINDEX [ ( options ) ] { INDEX | TABLE | SCHEMA | DATABASE | SYSTEM } [ CONCURRENTLY ] name
            var index = 1
            if word(1) == "(" { index = (words.firstIndex(of: ")") ?? words.count - 1) + 1 }
            return ["schema", "database", "system"].contains(word(index)) || word(index + 1) == "concurrently"
        case "alter":
            switch word(1) {
            case "system": return true
            case "type": return follows("add", "value")
            case "database": return follows("set", "tablespace")
            case "table": return follows("detach", "partition") && words.contains("concurrently")
            default: return false
            }
        case "vacuum":
            return true
        default:
            return false
        }
    }

    /// Whether a statement only reads or changes rows, so that a transaction holds it:
    /// it neither commits by itself (as DDL does on MySQL) nor refuses to run inside a
    /// transaction.
    ///
    /// The migration runner puts such statements in one transaction with the journal rows
    /// that record them, so an interrupted run leaves each of them applied and recorded,
    /// or neither. Anything else (DDL, `CALL`, `SET`, `LOAD DATA`, a statement that starts
    /// with an executable comment…) counts as committing by itself: a wrong "no" only
    /// costs an extra journal write, a wrong "yes" could apply a statement twice.
    ///
    /// - Parameters:
    ///   - statement: A statement, as ``split(_:dialect:)`` returns it.
    ///   - dialect: Whose lexical rules apply.
    /// - Returns: `true` for `SELECT`, `INSERT`, `UPDATE`, `DELETE`, `REPLACE`, `MERGE`,
    ///   `VALUES`, `TABLE` and `WITH` statements, also behind opening parentheses.
    public static func isDataManipulation(_ statement: SQLStatement, dialect: SQLSplitDialect) -> Bool {
        var lexer = SQLLexer(statement.text, dialect: dialect)
        while let token = try? lexer.next() {
            switch token.kind {
            case .whitespace, .lineComment, .blockComment:
                continue
            case .symbol where lexer.text(token.range) == "(":
                continue
            case .word:
                let word = lexer.text(token.range).lowercased()
                return ["select", "insert", "update", "delete", "replace", "merge", "values", "table", "with"].contains(word)
            default:
                return false
            }
        }
        return false
    }
}
