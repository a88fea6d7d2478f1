/// Reads a statement's tokens into a ``DDLStatement``: a small recogniser for the DDL
/// forms the lint rules judge, not a SQL parser.
///
/// It knows both dialects' spellings of the same change (`ALTER COLUMN … TYPE` and
/// `MODIFY`, `RENAME COLUMN` and `CHANGE`, `DROP INDEX … ON t`) and skips what it does
/// not need (`IF EXISTS`, `ONLY`, `CASCADE`, index methods and options). A form it
/// does not know is ``DDLStatement/other(isDDL:)``, so an unusual statement can cost a
/// missed finding, never a false one.
///
/// ```swift
/// let tokens = LintToken.tokens(of: statement, dialect: .postgres)
/// if case .createIndex(_, let table, _, false, _) = DDLRecognizer.recognise(tokens) { … }
/// ```
enum DDLRecognizer {
    /// Recognises one statement.
    ///
    /// - Parameter tokens: The statement's significant tokens.
    /// - Returns: What the statement does.
    static func recognise(_ tokens: [LintToken]) -> DDLStatement {
        var cursor = LintTokenCursor(tokens)
        while cursor.acceptSymbol("(") {}
        guard let first = cursor.current, first.kind == .word else {
            return .other(isDDL: true)
        }
        cursor.advance()
        switch first.text {
        case "create": return create(&cursor)
        case "drop": return drop(&cursor)
        case "alter":
            guard cursor.accept("table") else { return .other(isDDL: true) }
            return alterTable(&cursor)
        case "truncate":
            _ = cursor.accept("table")
            _ = cursor.accept("only")
            let names = LintTokenCursor.splitAtCommas(cursor.rest).compactMap { part -> String? in
                var c = LintTokenCursor(part)
                _ = c.accept("only")
                return c.name()
            }.filter { !["cascade", "restrict", "restart", "continue"].contains($0) }
            return .truncate(names)
        case "rename":
            guard cursor.accept("table") || cursor.accept("tables") else { return .other(isDDL: true) }
            var from: [String] = [], to: [String] = []
            for pair in LintTokenCursor.splitAtCommas(cursor.rest) {
                var c = LintTokenCursor(pair)
                guard let old = c.name(), c.accept("to"), let new = c.name() else { continue }
                from.append(old)
                to.append(new)
            }
            return .renameTables(from: from, to: to)
        case "set":
            _ = cursor.accept("local") || cursor.accept("session")
            return cursor.accept("lock_timeout") ? .setsLockTimeout : .other(isDDL: false)
        case "select":
            if cursor.accept("set_config"), cursor.acceptSymbol("("), cursor.current?.kind == .string,
               cursor.current?.text.lowercased() == "lock_timeout" {
                return .setsLockTimeout
            }
            return .dataChange
        case "insert", "update", "delete", "replace", "merge", "values", "with", "table":
            return .dataChange
        default:
            return .other(isDDL: true)
        }
    }

    private static func create(_ cursor: inout LintTokenCursor) -> DDLStatement {
        _ = cursor.accept("or", "replace")
        while cursor.accept("temporary") || cursor.accept("temp") || cursor.accept("unlogged")
            || cursor.accept("global") || cursor.accept("local") {}
        if cursor.accept("table") {
            _ = cursor.accept("if", "not", "exists")
            guard let name = cursor.name() else { return .other(isDDL: true) }
            guard let body = cursor.group() else {
                return .createTable(name: name, columns: [], constraints: [])
            }
            var columns: [DDLColumn] = []
            var constraints: [DDLConstraint] = []
            for element in LintTokenCursor.splitAtCommas(body) {
                if let constraint = DDLConstraint(element) {
                    constraints.append(constraint)
                } else if !(element.first?.is("like") ?? false), let column = DDLColumn(element) {
                    columns.append(column)
                }
            }
            return .createTable(name: name, columns: columns, constraints: constraints)
        }
        let unique = cursor.accept("unique")
        _ = cursor.accept("fulltext") || cursor.accept("spatial")
        guard cursor.accept("index") else { return .other(isDDL: true) }
        let concurrently = cursor.accept("concurrently")
        _ = cursor.accept("if", "not", "exists")
        var name: String?
        if !cursor.peek("on") { name = cursor.name() }
        guard cursor.accept("on") else { return .other(isDDL: true) }
        _ = cursor.accept("only")
        guard let table = cursor.name() else { return .other(isDDL: true) }
        if cursor.accept("using") { cursor.advance() }
        let columns = cursor.group().map(LintTokenCursor.columnNames) ?? []
        return .createIndex(name: name, table: table, unique: unique, concurrently: concurrently, columns: columns)
    }

    private static func drop(_ cursor: inout LintTokenCursor) -> DDLStatement {
        if cursor.accept("schema") || cursor.accept("database") {
            let kind = cursor.tokens[cursor.index - 1].text
            _ = cursor.accept("if", "exists")
            return .dropSchema(kind: kind, name: cursor.name() ?? "?")
        }
        _ = cursor.accept("temporary")
        if cursor.accept("table") {
            _ = cursor.accept("if", "exists")
            let names = LintTokenCursor.splitAtCommas(cursor.rest).compactMap { LintTokenCursor($0).firstName }
            return .dropTables(names)
        }
        if cursor.accept("index") {
            let concurrently = cursor.accept("concurrently")
            _ = cursor.accept("if", "exists")
            var names: [String] = []
            var table: String?
            while let name = cursor.name() {
                if ["cascade", "restrict"].contains(name) { break }
                names.append(name)
                if cursor.accept("on") { table = cursor.name(); break }
                guard cursor.acceptSymbol(",") else { break }
            }
            return .dropIndexes(names, concurrently: concurrently, table: table)
        }
        return .other(isDDL: true)
    }

    private static func alterTable(_ cursor: inout LintTokenCursor) -> DDLStatement {
        _ = cursor.accept("if", "exists")
        _ = cursor.accept("only")
        guard let table = cursor.name() else { return .other(isDDL: true) }
        _ = cursor.acceptSymbol("*")
        let actions = LintTokenCursor.splitAtCommas(cursor.rest).map(alterAction)
        return .alterTable(table, actions)
    }

    private static let notColumnAfterDrop: Set<String> = [
        "constraint", "primary", "foreign", "index", "key", "check", "partition", "default", "system", "period",
    ]

    private static func alterAction(_ tokens: [LintToken]) -> DDLAlterAction {
        var cursor = LintTokenCursor(tokens)
        let line = cursor.line
        func action(_ change: DDLAlterAction.Change) -> DDLAlterAction { DDLAlterAction(change: change, line: line) }
        if cursor.accept("add") {
            if let constraint = DDLConstraint(Array(cursor.rest)) { return action(.addConstraint(constraint)) }
            _ = cursor.accept("column")
            _ = cursor.accept("if", "not", "exists")
            return DDLColumn(Array(cursor.rest)).map { action(.addColumn($0)) } ?? action(.other)
        }
        if cursor.accept("drop") {
            if cursor.accept("constraint") {
                _ = cursor.accept("if", "exists")
                return action(.dropConstraint(cursor.name() ?? "?"))
            }
            if let next = cursor.current, next.kind == .word, notColumnAfterDrop.contains(next.text) { return action(.other) }
            _ = cursor.accept("column")
            _ = cursor.accept("if", "exists")
            return cursor.name().map { action(.dropColumn($0)) } ?? action(.other)
        }
        if cursor.accept("rename") {
            if cursor.accept("to") || cursor.accept("as") {
                return action(.renameTable(to: cursor.name() ?? "?"))
            }
            if cursor.accept("constraint") || cursor.accept("index") || cursor.accept("key") { return action(.other) }
            let explicitColumn = cursor.accept("column")
            guard let from = cursor.name() else { return action(.other) }
            if cursor.accept("to") { return action(.renameColumn(from: from, to: cursor.name() ?? "?")) }
            // MySQL's `RENAME new_name` renames the table.
            return explicitColumn ? action(.other) : action(.renameTable(to: from))
        }
        if cursor.accept("alter") {
            _ = cursor.accept("column")
            guard let column = cursor.name() else { return action(.other) }
            if cursor.accept("type") || cursor.accept("set", "data", "type") {
                var type: [String] = []
                while let token = cursor.current, !token.is("using"), !token.is("collate") {
                    type.append(token.text)
                    cursor.advance()
                }
                return action(.changeType(column: column, type: type))
            }
            if cursor.accept("set", "not", "null") { return action(.setNotNull(column: column)) }
            if cursor.accept("drop", "not", "null") { return action(.dropNotNull(column: column)) }
            return action(.other)
        }
        if cursor.accept("modify") {
            _ = cursor.accept("column")
            _ = cursor.accept("if", "exists")
            return DDLColumn(Array(cursor.rest)).map { action(.redefineColumn($0, previousName: $0.name)) } ?? action(.other)
        }
        if cursor.accept("change") {
            _ = cursor.accept("column")
            _ = cursor.accept("if", "exists")
            guard let old = cursor.name() else { return action(.other) }
            return DDLColumn(Array(cursor.rest)).map { action(.redefineColumn($0, previousName: old)) } ?? action(.other)
        }
        if cursor.accept("validate", "constraint") {
            return action(.validateConstraint(cursor.name() ?? "?"))
        }
        return action(.other)
    }
}

private extension LintTokenCursor {
    /// The first name of a list element such as `a TO b` or `t CASCADE`.
    var firstName: String? {
        var copy = self
        return copy.name()
    }
}
