/// A position in a statement's tokens, with the few moves the DDL recogniser needs.
///
/// Every `accept…` consumes only when all it looks for is there, so a recogniser can
/// try one form after another without backtracking by hand.
struct LintTokenCursor {
    let tokens: [LintToken]
    private(set) var index = 0

    init(_ tokens: [LintToken]) {
        self.tokens = tokens
    }

    var isAtEnd: Bool { index >= tokens.count }
    var current: LintToken? { index < tokens.count ? tokens[index] : nil }
    /// The line of the current token, or of the last one at the end.
    var line: Int { current?.line ?? tokens.last?.line ?? 1 }
    /// The tokens not consumed yet.
    var rest: ArraySlice<LintToken> { tokens[min(index, tokens.count)...] }

    mutating func advance() { index += 1 }

    /// Whether the next tokens are the keywords `words`, without consuming them.
    func peek(_ words: String...) -> Bool { peek(words) }

    func peek(_ words: [String]) -> Bool {
        guard index + words.count <= tokens.count else { return false }
        return zip(tokens[index...], words).allSatisfy { $0.is($1) }
    }

    /// Consumes the keywords `words` if they come next.
    mutating func accept(_ words: String...) -> Bool {
        guard peek(words) else { return false }
        index += words.count
        return true
    }

    /// Consumes a symbol if it comes next.
    mutating func acceptSymbol(_ symbol: String) -> Bool {
        guard current?.isSymbol(symbol) == true else { return false }
        index += 1
        return true
    }

    /// Consumes a possibly qualified name (`schema.table`) and returns its last part.
    mutating func name() -> String? {
        guard var last = current?.name else { return nil }
        index += 1
        while current?.isSymbol(".") == true, index + 1 < tokens.count, let part = tokens[index + 1].name {
            last = part
            index += 2
        }
        return last
    }

    /// Consumes a parenthesised group if one comes next, returning what is inside.
    mutating func group() -> [LintToken]? {
        guard current?.isSymbol("(") == true else { return nil }
        let start = index + 1
        var depth = 0
        while index < tokens.count {
            if tokens[index].isSymbol("(") { depth += 1 }
            if tokens[index].isSymbol(")") {
                depth -= 1
                if depth == 0 {
                    index += 1
                    return Array(tokens[start..<index - 1])
                }
            }
            index += 1
        }
        return Array(tokens[start...])
    }

    /// Splits tokens at the commas outside parentheses.
    static func splitAtCommas<C: Collection>(_ tokens: C) -> [[LintToken]] where C.Element == LintToken {
        var parts: [[LintToken]] = [[]]
        var depth = 0
        for token in tokens {
            if token.isSymbol("(") { depth += 1 }
            if token.isSymbol(")") { depth -= 1 }
            if depth == 0, token.isSymbol(",") {
                parts.append([])
            } else {
                parts[parts.count - 1].append(token)
            }
        }
        return parts.filter { !$0.isEmpty }
    }

    /// The names in a parenthesised column list such as `(a, lower(b), c DESC)`: the
    /// first name of each element.
    static func columnNames(_ tokens: [LintToken]) -> [String] {
        splitAtCommas(tokens).compactMap { $0.first?.name }
    }
}
