/// The schema the migration files build, as far as the lint rules need it, replayed
/// statement by statement in version order.
///
/// A table is *new* when a migration being linted created it, earlier in the same
/// file or in an earlier file of the linted set: it has no rows and no traffic yet, so
/// building an index on it, adding a `NOT NULL` column or even dropping it again harms
/// nobody. Every other table (created by a migration before the linted set, or by none
/// the lint has seen) is *existing*. Columns are remembered from their definitions, so
/// a rule can tell an `ENUM` reordered from one extended, or a column that was already
/// `NOT NULL`.
struct LintSchema: Sendable {
    private(set) var tables: [String: LintTable] = [:]
    /// Index name → table, for `DROP INDEX name`, which does not name the table.
    private(set) var indexes: [String: String] = [:]
    /// Index name → its columns, for `ADD PRIMARY KEY USING INDEX name`.
    private(set) var indexColumns: [String: [String]] = [:]

    /// Whether a table was created by a migration being linted.
    func isNew(_ table: String) -> Bool { tables[table]?.isNew ?? false }

    /// A column's last known definition.
    func column(_ name: String, of table: String) -> DDLColumn? { tables[table]?.columns[name] }

    /// Whether a validated check proves a column not null.
    func isProvenNotNull(_ column: String, of table: String) -> Bool {
        tables[table]?.provenNotNull.contains(column) ?? false
    }

    /// The table an index belongs to, when a migration created it.
    func table(ofIndex name: String) -> String? { indexes[name] }

    /// The columns of an index a migration created.
    func columns(ofIndex name: String) -> [String]? { indexColumns[name] }

    /// Replays a statement.
    ///
    /// - Parameters:
    ///   - statement: The recognised statement.
    ///   - linted: Whether the statement's migration is being linted, which makes the
    ///     tables it creates new.
    mutating func apply(_ statement: DDLStatement, linted: Bool) {
        switch statement {
        case .createTable(let name, let columns, let constraints):
            var table = LintTable(isNew: linted)
            for column in columns {
                table.columns[column.name] = column
                if column.checksNotNull { table.provenNotNull.insert(column.name) }
            }
            tables[name] = table
            for constraint in constraints { add(constraint, to: name) }
        case .dropTables(let names):
            for name in names { tables[name] = nil }
            indexes = indexes.filter { !names.contains($0.value) }
        case .createIndex(let name, let table, _, _, let columns):
            if let name {
                indexes[name] = table
                indexColumns[name] = columns
            }
        case .dropIndexes(let names, _, _):
            for name in names { indexes[name] = nil }
        case .alterTable(let name, let actions):
            for action in actions { apply(action.change, to: name) }
        case .renameTables(let from, let to):
            for (old, new) in zip(from, to) { rename(old, to: new) }
        case .truncate, .dropSchema, .setsLockTimeout, .dataChange, .other:
            break
        }
    }

    private mutating func apply(_ change: DDLAlterAction.Change, to name: String) {
        if tables[name] == nil { tables[name] = LintTable(isNew: false) }
        switch change {
        case .addColumn(let column):
            tables[name]?.columns[column.name] = column
            if column.checksNotNull { tables[name]?.provenNotNull.insert(column.name) }
        case .dropColumn(let column):
            tables[name]?.columns[column] = nil
        case .renameTable(let new):
            rename(name, to: new)
        case .renameColumn(let from, let to):
            if var column = tables[name]?.columns.removeValue(forKey: from) {
                column.name = to
                tables[name]?.columns[to] = column
            }
        case .changeType(let column, let type):
            tables[name]?.columns[column]?.type = type
        case .setNotNull(let column):
            tables[name]?.columns[column]?.notNull = true
        case .dropNotNull(let column):
            tables[name]?.columns[column]?.notNull = false
        case .redefineColumn(let column, let previous):
            tables[name]?.columns[previous] = nil
            tables[name]?.columns[column.name] = column
        case .addConstraint(let constraint):
            add(constraint, to: name)
        case .validateConstraint(let constraint):
            if let columns = tables[name]?.unvalidatedChecks.removeValue(forKey: constraint) {
                tables[name]?.provenNotNull.formUnion(columns)
            }
        case .dropConstraint, .other:
            break
        }
    }

    private mutating func add(_ constraint: DDLConstraint, to name: String) {
        switch constraint.kind {
        case .primaryKey:
            for column in constraint.columns { tables[name]?.columns[column]?.notNull = true }
        case .check where constraint.notValid:
            if let constraintName = constraint.name {
                tables[name]?.unvalidatedChecks[constraintName] = constraint.notNullColumns
            }
        case .check:
            tables[name]?.provenNotNull.formUnion(constraint.notNullColumns)
        case .unique, .index:
            if let index = constraint.name { indexes[index] = name }
        case .foreignKey, .exclude:
            break
        }
    }

    private mutating func rename(_ old: String, to new: String) {
        guard let table = tables.removeValue(forKey: old) else { return }
        tables[new] = table
        for (index, owner) in indexes where owner == old { indexes[index] = new }
    }
}
