/// A table constraint or index clause, as `CREATE TABLE` or `ALTER TABLE … ADD` gives it.
///
/// Covers `[CONSTRAINT name] PRIMARY KEY | UNIQUE | CHECK | FOREIGN KEY | EXCLUDE …` and
/// MySQL's `INDEX | KEY | UNIQUE [INDEX | KEY] | FULLTEXT | SPATIAL … (columns)`.
struct DDLConstraint: Sendable, Hashable {
    enum Kind: Sendable, Hashable {
        case primaryKey, unique, check, foreignKey, index, exclude
    }

    var kind: Kind
    var name: String?
    var columns: [String]
    /// PostgreSQL's `USING INDEX existing_index`: the constraint adopts a built index.
    var usingIndex = false
    /// The index `USING INDEX` names.
    var index: String?
    /// `NOT VALID`: existing rows are not checked now.
    var notValid = false
    /// For a `CHECK`, the columns it proves `IS NOT NULL`.
    var notNullColumns: [String] = []
    var line: Int

    /// Reads a constraint clause.
    ///
    /// - Parameter tokens: The clause, from `CONSTRAINT` or the kind's keyword on.
    /// - Returns: `nil` when the clause is not a constraint or index.
    init?(_ tokens: [LintToken]) {
        guard let first = tokens.first else { return nil }
        line = first.line
        var cursor = LintTokenCursor(tokens)
        if cursor.accept("constraint") {
            if !(cursor.peek("primary") || cursor.peek("unique") || cursor.peek("check") || cursor.peek("foreign")
                 || cursor.peek("exclude")) {
                name = cursor.name()
            }
        }
        if cursor.accept("primary", "key") {
            kind = .primaryKey
        } else if cursor.accept("unique") {
            kind = .unique
            _ = cursor.accept("index") || cursor.accept("key")
        } else if cursor.accept("check") {
            kind = .check
        } else if cursor.accept("foreign", "key") {
            kind = .foreignKey
        } else if cursor.accept("exclude") {
            kind = .exclude
        } else if cursor.accept("index") || cursor.accept("key") || cursor.accept("fulltext") || cursor.accept("spatial") {
            kind = .index
            _ = cursor.accept("index") || cursor.accept("key")
        } else {
            return nil
        }
        // An index name (MySQL) or a USING method may stand before the column list.
        while let token = cursor.current, !token.isSymbol("(") {
            if cursor.accept("using", "index") {
                usingIndex = true
                index = cursor.current?.name
                break
            }
            if name == nil, kind == .unique || kind == .index, let indexName = token.name, !token.is("using") {
                name = indexName
            }
            cursor.advance()
        }
        let body = cursor.group() ?? []
        columns = kind == .check ? [] : LintTokenCursor.columnNames(body)
        if kind == .check { notNullColumns = Self.notNullColumns(in: body) }
        let rest = Array(cursor.rest)
        for (a, b) in zip(rest, rest.dropFirst()) {
            if a.is("not"), b.is("valid") { notValid = true }
        }
        if zip(rest, rest.dropFirst()).contains(where: { $0.is("using") && $1.is("index") }),
           !zip(rest.dropFirst(), rest.dropFirst(2)).contains(where: { $0.is("index") && $1.is("tablespace") }) {
            usingIndex = true
        }
    }

    /// The columns a check expression proves not null: each `name IS NOT NULL` joined
    /// by `AND` at the top level (an `OR` proves nothing).
    static func notNullColumns(in expression: [LintToken]) -> [String] {
        var depth = 0
        for token in expression {
            if token.isSymbol("(") { depth += 1 }
            if token.isSymbol(")") { depth -= 1 }
            if depth == 0, token.is("or") { return [] }
        }
        var names: [String] = []
        for i in expression.indices where i + 3 < expression.count {
            if let name = expression[i].name, expression[i + 1].is("is"), expression[i + 2].is("not"),
               expression[i + 3].is("null") {
                names.append(name)
            }
        }
        return names
    }
}
