/// A lexer that cuts a SQL script into tokens, following the rules of `psql` or of
/// the `mysql` client.
///
/// It works on UTF-8 bytes: every character that matters to the lexer is ASCII, and a
/// byte of a multi-byte character is never mistaken for one, so token boundaries are
/// always character boundaries. Bytes of non-ASCII characters count as letters, as
/// both servers allow them in identifiers.
///
/// A MySQL `DELIMITER` line changes the delimiter the lexer reports from then on,
/// which is why the lexer, not its caller, handles it.
struct SQLLexer {
    let bytes: [UInt8]
    let dialect: SQLSplitDialect
    private var position = 0
    private var line = 1
    private var delimiter: [UInt8] = [ASCII.semicolon]

    init(_ sql: String, dialect: SQLSplitDialect) {
        self.bytes = Array(sql.utf8)
        self.dialect = dialect
    }

    /// Whether the delimiter in force is `;`, as it is until a MySQL `DELIMITER` line
    /// changes it.
    var delimiterIsSemicolon: Bool { delimiter == [ASCII.semicolon] }

    /// The script's text in a token's range.
    func text(_ range: Range<Int>) -> String {
        String(decoding: bytes[range], as: UTF8.self)
    }

    /// Returns the next token, or `nil` at the end of the script.
    ///
    /// - Throws: ``SQLSplitError`` for a string, quoted identifier, dollar quote or
    ///   block comment that is not closed, or a `DELIMITER` line without a delimiter.
    mutating func next() throws(SQLSplitError) -> SQLToken? {
        guard position < bytes.count else { return nil }
        let start = position
        let startLine = line
        let kind = try scanToken(startLine: startLine)
        return SQLToken(kind: kind, range: start..<position, line: startLine)
    }

    // MARK: - Tokens

    private mutating func scanToken(startLine: Int) throws(SQLSplitError) -> SQLToken.Kind {
        let byte = bytes[position]
        if dialect == .mysql, byte | 0x20 == UInt8(ascii: "d"), try scanDelimiterCommand(startLine: startLine) {
            return .delimiterCommand
        }
        if matches(delimiter, at: position) {
            advance(delimiter.count)
            return .delimiter
        }
        switch byte {
        case _ where ASCII.isSpace(byte):
            while position < bytes.count, ASCII.isSpace(bytes[position]) { advance() }
            return .whitespace
        case ASCII.dash where peek(1) == ASCII.dash && (dialect == .postgres || peek(2).map { $0 <= 0x20 } ?? true),
             ASCII.hash where dialect == .mysql:
            // MySQL reads `--` as a comment only before a blank or a control character,
            // so that `1--1` stays an expression.
            while position < bytes.count, bytes[position] != ASCII.lf, bytes[position] != ASCII.cr { advance() }
            return .lineComment
        case ASCII.slash where peek(1) == ASCII.star:
            return try scanBlockComment(startLine: startLine)
        case ASCII.singleQuote:
            try scanQuoted(ASCII.singleQuote, backslashEscapes: dialect == .mysql, startLine: startLine,
                           what: "quoted string")
            return .string
        case ASCII.doubleQuote where dialect == .mysql:
            try scanQuoted(ASCII.doubleQuote, backslashEscapes: true, startLine: startLine, what: "quoted string")
            return .string
        case ASCII.doubleQuote:
            try scanQuoted(ASCII.doubleQuote, backslashEscapes: false, startLine: startLine, what: "quoted identifier")
            return .quotedIdentifier
        case ASCII.backtick where dialect == .mysql:
            try scanQuoted(ASCII.backtick, backslashEscapes: false, startLine: startLine, what: "quoted identifier")
            return .quotedIdentifier
        case ASCII.dollar where dialect == .postgres:
            guard let length = dollarTagLength(at: position) else {
                advance()
                return .symbol
            }
            try scanDollarQuoted(tagLength: length, startLine: startLine)
            return .string
        case _ where ASCII.isWordStart(byte):
            let start = position
            while position < bytes.count, ASCII.isWordPart(bytes[position]),
                  dialect == .postgres || !matches(delimiter, at: position) {
                advance()
            }
            if dialect == .postgres, position - start == 1, bytes[start] | 0x20 == UInt8(ascii: "e"),
               peek(0) == ASCII.singleQuote {
                try scanQuoted(ASCII.singleQuote, backslashEscapes: true, startLine: startLine, what: "E'' string")
                return .string
            }
            return .word
        default:
            advance()
            return .symbol
        }
    }

    /// Scans a quoted string or identifier, from its opening quote to its closing one.
    ///
    /// A doubled quote stands for itself in every kind; a backslash escapes the next
    /// character where `backslashEscapes` says so.
    private mutating func scanQuoted(
        _ quote: UInt8, backslashEscapes: Bool, startLine: Int, what: String
    ) throws(SQLSplitError) {
        advance()
        while position < bytes.count {
            let byte = bytes[position]
            advance()
            if backslashEscapes, byte == ASCII.backslash {
                if position < bytes.count { advance() }
            } else if byte == quote {
                guard peek(0) == quote else { return }
                advance()
            }
        }
        throw SQLSplitError(line: startLine, message: "unterminated \(what)")
    }

    /// Scans a block comment; PostgreSQL nests them, MySQL ends one at the first `*/`.
    private mutating func scanBlockComment(startLine: Int) throws(SQLSplitError) -> SQLToken.Kind {
        let executable = dialect == .mysql
            && (peek(2) == ASCII.bang || (peek(2) == UInt8(ascii: "M") && peek(3) == ASCII.bang))
        advance(2)
        var depth = 1
        while position < bytes.count {
            if bytes[position] == ASCII.star, peek(1) == ASCII.slash {
                advance(2)
                depth -= 1
                if depth == 0 { return executable ? .executableComment : .blockComment }
            } else if dialect == .postgres, bytes[position] == ASCII.slash, peek(1) == ASCII.star {
                advance(2)
                depth += 1
            } else {
                advance()
            }
        }
        throw SQLSplitError(line: startLine, message: "unterminated /* comment")
    }

    /// The length of the dollar-quote opener `$tag$` at `index`, or `nil` when the `$`
    /// opens none (as in the parameter `$1`).
    private func dollarTagLength(at index: Int) -> Int? {
        var end = index + 1
        if end < bytes.count, bytes[end] != ASCII.dollar {
            guard ASCII.isLetter(bytes[end]) else { return nil }
            while end < bytes.count, ASCII.isLetter(bytes[end]) || ASCII.isDigit(bytes[end]) { end += 1 }
        }
        guard end < bytes.count, bytes[end] == ASCII.dollar else { return nil }
        return end - index + 1
    }

    private mutating func scanDollarQuoted(tagLength: Int, startLine: Int) throws(SQLSplitError) {
        let tag = Array(bytes[position..<position + tagLength])
        advance(tagLength)
        while position < bytes.count {
            if matches(tag, at: position) {
                advance(tagLength)
                return
            }
            advance()
        }
        throw SQLSplitError(
            line: startLine,
            message: "unterminated dollar-quoted string \(String(decoding: tag, as: UTF8.self))"
        )
    }

    /// Scans a MySQL `DELIMITER xx` line and makes `xx` the delimiter.
    ///
    /// Like the `mysql` client, it takes the command only at the start of a line; the
    /// rest of the line after the new delimiter is ignored.
    /// - Returns: `false`, consuming nothing, when there is no such command here.
    private mutating func scanDelimiterCommand(startLine: Int) throws(SQLSplitError) -> Bool {
        let keyword = Array("delimiter".utf8)
        guard position + keyword.count < bytes.count,
              ASCII.isHorizontalSpace(bytes[position + keyword.count]),
              zip(bytes[position...], keyword).allSatisfy({ $0 | 0x20 == $1 }),
              isAtLineStart
        else { return false }
        advance(keyword.count)
        while position < bytes.count, ASCII.isHorizontalSpace(bytes[position]) { advance() }
        let start = position
        while position < bytes.count, !ASCII.isSpace(bytes[position]) { advance() }
        let newDelimiter = Array(bytes[start..<position])
        while position < bytes.count, bytes[position] != ASCII.lf, bytes[position] != ASCII.cr { advance() }
        guard !newDelimiter.isEmpty, !newDelimiter.contains(ASCII.backslash) else {
            throw SQLSplitError(line: startLine, message: "DELIMITER needs a delimiter without backslashes")
        }
        delimiter = newDelimiter
        return true
    }

    private var isAtLineStart: Bool {
        var index = position - 1
        while index >= 0, ASCII.isHorizontalSpace(bytes[index]) { index -= 1 }
        return index < 0 || bytes[index] == ASCII.lf || bytes[index] == ASCII.cr
    }

    // MARK: - Cursor

    private func peek(_ offset: Int) -> UInt8? {
        position + offset < bytes.count ? bytes[position + offset] : nil
    }

    private func matches(_ sequence: [UInt8], at index: Int) -> Bool {
        index + sequence.count <= bytes.count && bytes[index..<index + sequence.count].elementsEqual(sequence)
    }

    /// Moves past `count` bytes, counting lines: LF, CRLF and a lone CR each end one.
    private mutating func advance(_ count: Int = 1) {
        for _ in 0..<count {
            let byte = bytes[position]
            position += 1
            if byte == ASCII.lf || (byte == ASCII.cr && peek(0) != ASCII.lf) { line += 1 }
        }
    }

    /// The bytes the lexer looks for, and the classes of bytes it tells apart.
    private enum ASCII {
        static let lf = UInt8(ascii: "\n")
        static let cr = UInt8(ascii: "\r")
        static let semicolon = UInt8(ascii: ";")
        static let dash = UInt8(ascii: "-")
        static let hash = UInt8(ascii: "#")
        static let slash = UInt8(ascii: "/")
        static let star = UInt8(ascii: "*")
        static let bang = UInt8(ascii: "!")
        static let singleQuote = UInt8(ascii: "'")
        static let doubleQuote = UInt8(ascii: "\"")
        static let backtick = UInt8(ascii: "`")
        static let backslash = UInt8(ascii: "\\")
        static let dollar = UInt8(ascii: "$")

        static func isHorizontalSpace(_ byte: UInt8) -> Bool { byte == 0x20 || byte == 0x09 }
        static func isSpace(_ byte: UInt8) -> Bool { isHorizontalSpace(byte) || (0x0A...0x0D).contains(byte) }
        static func isDigit(_ byte: UInt8) -> Bool { (0x30...0x39).contains(byte) }
        /// ASCII letters, `_`, and every byte of a non-ASCII character.
        static func isLetter(_ byte: UInt8) -> Bool { (0x61...0x7A).contains(byte | 0x20) || byte == 0x5F || byte >= 0x80 }
        static func isWordStart(_ byte: UInt8) -> Bool { isLetter(byte) || isDigit(byte) }
        static func isWordPart(_ byte: UInt8) -> Bool { isWordStart(byte) || byte == dollar }
    }
}
