import StrataSQL

extension MySQLDialect {
    public var schemaInspector: any SchemaInspector { MySQLSchemaInspector() }
}

/// Reads the tables of the current database (`DATABASE()`) from `information_schema`.
///
/// Each part of the schema is one query over the whole database, grouped by table here,
/// so a snapshot takes the same five round trips however many tables there are.
///
/// What a snapshot holds, beyond the obvious:
/// - a column's default is `COLUMN_DEFAULT` as the server shows it, except that "no
///   default" and a literal `DEFAULT NULL` are both `nil` (MariaDB reports the second
///   as the text `NULL`, MySQL as SQL NULL). What `EXTRA` adds (`auto_increment`,
///   `on update current_timestamp(6)`) follows it, and a generated column shows
///   `GENERATED ALWAYS AS (expr) VIRTUAL|STORED`, so a down that loses either is seen;
/// - MariaDB's `JSON` is `LONGTEXT` plus an automatic `CHECK (json_valid(`col`))` named
///   after the column: such a column has the `json` family and that check is left out;
/// - indexes are every index but `PRIMARY`, with their columns in index order; a
///   column indexed by prefix reads `col(n)`. The index MySQL creates by itself for a
///   foreign key is kept like any other: the schema should declare it.
struct MySQLSchemaInspector: SchemaInspector {
    func snapshot(_ conn: any SQLConnection, excluding: Set<String>) throws -> SchemaSnapshot {
        var tables: [String: SchemaSnapshot.Table] = [:]
        for row in try conn.query(Self.tables) {
            let name: String = try row.decode("table_name")
            if !excluding.contains(name) { tables[name] = SchemaSnapshot.Table(name: name) }
        }

        // Assignments through `tables[name]?` do nothing for an excluded table.
        for row in try conn.query(Self.columns) {
            let dataType: String = try row.decode("data_type")
            let columnType: String = try row.decode("column_type")
            let column = SchemaSnapshot.Column(
                name: try row.decode("column_name"),
                type: columnType,
                family: Self.family(dataType: dataType, columnType: columnType),
                nullable: try row.decode("is_nullable", as: String.self) == "YES",
                defaultValue: Self.defaultValue(
                    columnDefault: try row.decode("column_default"),
                    extra: try row.decode("extra"),
                    generationExpression: try row.decode("generation_expression")))
            tables[try row.decode("table_name")]?.columns.append(column)
        }

        // `SELECT *` because MySQL 8 has an `EXPRESSION` column (functional indexes)
        // that MariaDB lacks; a missing column reads as `nil`.
        var indexes: [String: [String: SchemaSnapshot.Index]] = [:]
        for row in try conn.query(Self.statistics) {
            let table: String = try row.decode("TABLE_NAME")
            let name: String = try row.decode("INDEX_NAME")
            let column: String
            if let name = try row.decode("COLUMN_NAME", as: String?.self) {
                let prefix = try row.decode("SUB_PART", as: Int?.self)
                column = prefix.map { "\(name)(\($0))" } ?? name
            } else {
                column = try row["EXPRESSION"].map { try String(sqlValue: $0) } ?? "?"
            }
            if name == "PRIMARY" {
                tables[table]?.primaryKey.append(column)
                continue
            }
            let unique = try row.decode("NON_UNIQUE", as: Int.self) == 0
            var index = indexes[table, default: [:]][name] ?? SchemaSnapshot.Index(name: name, columns: [], unique: unique)
            index.columns.append(column)
            indexes[table, default: [:]][name] = index
        }
        for (table, byName) in indexes {
            tables[table]?.indexes = byName.values.sorted { $0.name < $1.name }
        }

        // MariaDB's CHECK_CONSTRAINTS has a TABLE_NAME (check names are per table there,
        // and each JSON column brings one named after itself); MySQL 8's has none, its
        // names being unique per schema. Joining on the name and dropping the rows whose
        // TABLE_NAME, where present, is another table's works on both.
        for row in try conn.query(Self.checks) {
            let table: String = try row.decode("owner_table")
            if let checkTable = try row["TABLE_NAME"].map({ try String(sqlValue: $0) }), checkTable != table { continue }
            let check = SchemaSnapshot.Check(name: try row.decode("CONSTRAINT_NAME"), expression: try row.decode("CHECK_CLAUSE"))
            if let i = tables[table]?.columns.firstIndex(where: { Self.isJSONCheck(check, of: $0.name) }) {
                tables[table]?.columns[i].family = .json
            } else {
                tables[table]?.checks.append(check)
            }
        }
        for name in tables.keys {
            tables[name]?.checks.sort { $0.name < $1.name }
        }

        var foreignKeys: [String: [String: SchemaSnapshot.ForeignKey]] = [:]
        for row in try conn.query(Self.foreignKeys) {
            let table: String = try row.decode("table_name")
            let name: String = try row.decode("constraint_name")
            let empty = SchemaSnapshot.ForeignKey(
                name: name, columns: [], referencedTable: try row.decode("referenced_table"), referencedColumns: [],
                onDelete: try row.decode("on_delete"), onUpdate: try row.decode("on_update"))
            var key = foreignKeys[table, default: [:]][name] ?? empty
            key.columns.append(try row.decode("column_name"))
            key.referencedColumns.append(try row.decode("referenced_column"))
            foreignKeys[table, default: [:]][name] = key
        }
        for (table, byName) in foreignKeys {
            tables[table]?.foreignKeys = byName.values.sorted { $0.name < $1.name }
        }

        return SchemaSnapshot(tables: tables)
    }

    /// The family of a column from `DATA_TYPE` and `COLUMN_TYPE` (`tinyint(1)` is a boolean).
    static func family(dataType: String, columnType: String) -> SchemaSnapshot.TypeFamily {
        switch dataType.lowercased() {
        case "tinyint": columnType.lowercased().hasPrefix("tinyint(1)") ? .boolean : .integer
        case "smallint", "mediumint", "int", "integer", "bigint": .integer
        case "decimal", "numeric": .decimal
        case "float", "double", "real": .float
        case "char", "varchar", "tinytext", "text", "mediumtext", "longtext": .text
        case "binary", "varbinary", "tinyblob", "blob", "mediumblob", "longblob": .bytes
        case "datetime", "timestamp": .timestamp
        case "date": .date
        case "json": .json
        default: .other
        }
    }

    /// The default as the snapshot keeps it: `nil` for none and for `DEFAULT NULL`,
    /// followed by what `EXTRA` adds; or the generation expression of a generated column.
    static func defaultValue(columnDefault: String?, extra: String, generationExpression: String?) -> String? {
        // MySQL 8 tags an expression default `DEFAULT_GENERATED`, which adds nothing.
        let extra = extra.split(separator: " ").filter { $0 != "DEFAULT_GENERATED" }.joined(separator: " ")
        if let expression = generationExpression, !expression.isEmpty {
            let storage = extra.uppercased().hasPrefix("STORED") ? "STORED" : "VIRTUAL"
            return "GENERATED ALWAYS AS (\(expression)) \(storage)"
        }
        let parts = [columnDefault == "NULL" ? nil : columnDefault, extra.isEmpty ? nil : extra].compactMap { $0 }
        return parts.isEmpty ? nil : parts.joined(separator: " ")
    }

    /// Whether a check is the one MariaDB adds to a `JSON` column: `json_valid(`col`)`
    /// named after the column.
    static func isJSONCheck(_ check: SchemaSnapshot.Check, of column: String) -> Bool {
        check.name == column && check.expression == "json_valid(`\(column)`)"
    }

    /// Base tables (and MariaDB's system-versioned ones); not views or sequences.
    private static let tables: SQLQuery = """
        SELECT TABLE_NAME AS table_name
        FROM information_schema.TABLES
        WHERE TABLE_SCHEMA = DATABASE() AND TABLE_TYPE IN ('BASE TABLE', 'SYSTEM VERSIONED')
        """

    private static let columns: SQLQuery = """
        SELECT TABLE_NAME AS table_name, COLUMN_NAME AS column_name, DATA_TYPE AS data_type,
               COLUMN_TYPE AS column_type, IS_NULLABLE AS is_nullable, COLUMN_DEFAULT AS column_default,
               EXTRA AS extra, GENERATION_EXPRESSION AS generation_expression
        FROM information_schema.COLUMNS
        WHERE TABLE_SCHEMA = DATABASE()
        ORDER BY TABLE_NAME, ORDINAL_POSITION
        """

    private static let statistics: SQLQuery = """
        SELECT * FROM information_schema.STATISTICS
        WHERE TABLE_SCHEMA = DATABASE()
        ORDER BY TABLE_NAME, INDEX_NAME, SEQ_IN_INDEX
        """

    private static let checks: SQLQuery = """
        SELECT tc.TABLE_NAME AS owner_table, cc.*
        FROM information_schema.TABLE_CONSTRAINTS tc
        JOIN information_schema.CHECK_CONSTRAINTS cc
          ON cc.CONSTRAINT_SCHEMA = tc.CONSTRAINT_SCHEMA AND cc.CONSTRAINT_NAME = tc.CONSTRAINT_NAME
        WHERE tc.TABLE_SCHEMA = DATABASE() AND tc.CONSTRAINT_TYPE = 'CHECK'
        """

    /// One row per column pair of every foreign key, in key order.
    private static let foreignKeys: SQLQuery = """
        SELECT k.TABLE_NAME AS table_name, k.CONSTRAINT_NAME AS constraint_name,
               CASE WHEN k.REFERENCED_TABLE_SCHEMA = DATABASE() THEN k.REFERENCED_TABLE_NAME
                    ELSE CONCAT(k.REFERENCED_TABLE_SCHEMA, '.', k.REFERENCED_TABLE_NAME) END AS referenced_table,
               k.COLUMN_NAME AS column_name, k.REFERENCED_COLUMN_NAME AS referenced_column,
               r.DELETE_RULE AS on_delete, r.UPDATE_RULE AS on_update
        FROM information_schema.KEY_COLUMN_USAGE k
        JOIN information_schema.REFERENTIAL_CONSTRAINTS r
          ON r.CONSTRAINT_SCHEMA = k.CONSTRAINT_SCHEMA AND r.TABLE_NAME = k.TABLE_NAME
         AND r.CONSTRAINT_NAME = k.CONSTRAINT_NAME
        WHERE k.TABLE_SCHEMA = DATABASE() AND k.REFERENCED_TABLE_NAME IS NOT NULL
        ORDER BY k.TABLE_NAME, k.CONSTRAINT_NAME, k.ORDINAL_POSITION
        """
}
