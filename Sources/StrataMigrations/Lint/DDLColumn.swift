/// A column definition, as `CREATE TABLE`, `ADD COLUMN`, `MODIFY` or `CHANGE` gives it.
///
/// Only what the lint rules ask about is kept: the type as written, nullability,
/// whether existing rows get a value (a default, or one the server computes), inline
/// keys, and the values of a MySQL `ENUM` or `SET`.
struct DDLColumn: Sendable, Hashable {
    var name: String
    /// The type's tokens, lower-cased: `["varchar", "(", "64", ")"]`.
    var type: [String]
    var notNull = false
    /// The default's tokens; `nil` without a `DEFAULT`.
    var defaultExpression: [LintToken]?
    /// The server fills the column per row: serial, identity, `AUTO_INCREMENT`, a
    /// generated column.
    var isGenerated = false
    /// A `GENERATED … STORED`, identity or serial column: PostgreSQL writes a value into
    /// every row when it is added.
    var writesEveryRow = false
    var isPrimaryKey = false
    var isUnique = false
    var references = false
    /// An inline `CHECK (name IS NOT NULL)`.
    var checksNotNull = false
    /// The line of the column's name.
    var line: Int

    /// The first word of the type: `varchar`, `enum`, `bigint`.
    var typeName: String { type.first ?? "" }

    /// The type as one string, `varchar(64)`, for comparing two definitions.
    var typeText: String { type.joined() }

    /// The values of an `ENUM(…)` or `SET(…)` type, in order.
    var enumValues: [String]?

    /// Words that end a column's type and start its attributes.
    private static let attributeWords: Set<String> = [
        "not", "null", "default", "constraint", "primary", "unique", "references", "check", "generated",
        "collate", "comment", "auto_increment", "as", "on", "first", "after", "invisible", "visible",
        "charset", "storage", "column_format", "key", "using", "identity", "srid",
    ]

    /// Words after `DEFAULT` that end its expression.
    private static let afterDefault: Set<String> = [
        "not", "null", "constraint", "primary", "unique", "references", "check", "generated", "collate",
        "comment", "on", "first", "after", "invisible", "visible", "auto_increment",
    ]

    private static let serialTypes: Set<String> = ["serial", "bigserial", "smallserial", "serial2", "serial4", "serial8"]

    /// Reads a column definition.
    ///
    /// - Parameter tokens: The definition, its name first.
    /// - Returns: `nil` when there are no tokens or the first is not a name.
    init?(_ tokens: [LintToken]) {
        guard let first = tokens.first, let name = first.name else { return nil }
        self.name = name
        line = first.line
        var index = 1
        var depth = 0
        type = []
        // The type: everything up to the first attribute word outside parentheses.
        while index < tokens.count {
            let token = tokens[index]
            if token.isSymbol("(") { depth += 1 }
            if token.isSymbol(")") { depth -= 1 }
            if depth == 0, !type.isEmpty, token.kind == .word,
               Self.attributeWords.contains(token.text)
                || (token.text == "character" && index + 1 < tokens.count && tokens[index + 1].is("set")) {
                break
            }
            type.append(token.kind == .string ? "'\(token.text)'" : token.text)
            index += 1
        }
        if ["enum", "set"].contains(type.first), let open = tokens.firstIndex(where: { $0.isSymbol("(") }) {
            var cursor = LintTokenCursor(Array(tokens[open...]))
            enumValues = cursor.group().map { $0.filter { $0.kind == .string }.map(\.text) }
        }
        if Self.serialTypes.contains(typeName) {
            isGenerated = true
            writesEveryRow = true
        }
        readAttributes(tokens[index...])
    }

    private mutating func readAttributes(_ tokens: ArraySlice<LintToken>) {
        var cursor = LintTokenCursor(Array(tokens))
        while let token = cursor.current {
            if cursor.accept("not", "null") {
                notNull = true
            } else if cursor.accept("primary", "key") {
                isPrimaryKey = true
                notNull = true
            } else if cursor.accept("unique") {
                isUnique = true
            } else if cursor.accept("references") {
                references = true
            } else if cursor.accept("check") {
                if let body = cursor.group(), DDLConstraint.notNullColumns(in: body).contains(name) { checksNotNull = true }
            } else if cursor.accept("default") {
                var expression: [LintToken] = []
                while let next = cursor.current {
                    if next.kind == .word, Self.afterDefault.contains(next.text), !(expression.isEmpty && next.is("null")) { break }
                    if let inner = cursor.group() {
                        expression.append(LintToken(kind: .symbol, text: "(", line: next.line))
                        expression += inner
                        expression.append(LintToken(kind: .symbol, text: ")", line: next.line))
                    } else {
                        expression.append(next)
                        cursor.advance()
                    }
                }
                defaultExpression = expression
            } else if cursor.accept("generated") {
                isGenerated = true
                // GENERATED { ALWAYS | BY DEFAULT } AS IDENTITY, or GENERATED ALWAYS AS (expr) STORED.
                let rest = cursor.rest
                let identity = rest.prefix(5).contains { $0.is("identity") }
                let stored = rest.contains { $0.is("stored") }
                if identity || stored { writesEveryRow = true }
                cursor.advance()
            } else if cursor.accept("auto_increment") {
                isGenerated = true
            } else if token.is("as"), cursor.tokens.count > cursor.index + 1, cursor.tokens[cursor.index + 1].isSymbol("(") {
                // MySQL's generated column: `AS (expr) [VIRTUAL | STORED]`.
                isGenerated = true
                cursor.advance()
                _ = cursor.group()
            } else if cursor.group() == nil {
                cursor.advance()
            }
        }
    }

    /// Whether the default calls a function that gives each row its own value, which
    /// makes PostgreSQL rewrite the table instead of storing the default once.
    var hasVolatileDefault: Bool {
        guard let expression = defaultExpression else { return false }
        let volatile: Set<String> = [
            "random", "gen_random_uuid", "uuid_generate_v1", "uuid_generate_v1mc", "uuid_generate_v4",
            "clock_timestamp", "timeofday", "nextval", "txid_current", "gen_random_bytes", "uuidv7", "random_normal",
        ]
        return zip(expression, expression.dropFirst()).contains { volatile.contains($0.text) && $0.kind == .word && $1.isSymbol("(") }
    }
}
