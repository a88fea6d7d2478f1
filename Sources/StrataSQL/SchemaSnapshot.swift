/// A database schema as read from the catalogue: tables with their columns, keys,
/// indexes and constraints, in a form two schemas can be compared in.
///
/// Names are compared as stored; lists are kept sorted so equal schemas are equal values.
public struct SchemaSnapshot: Sendable, Hashable, Codable {
    public var tables: [String: Table]

    public init(tables: [String: Table] = [:]) {
        self.tables = tables
    }

    public struct Table: Sendable, Hashable, Codable {
        public var name: String
        /// In ordinal order.
        public var columns: [Column]
        public var primaryKey: [String]
        /// Unique and non-unique indexes, unique constraints included, the primary key's excluded.
        public var indexes: [Index]
        public var checks: [Check]
        public var foreignKeys: [ForeignKey]

        public init(name: String, columns: [Column] = [], primaryKey: [String] = [], indexes: [Index] = [],
                    checks: [Check] = [], foreignKeys: [ForeignKey] = []) {
            self.name = name
            self.columns = columns
            self.primaryKey = primaryKey
            self.indexes = indexes
            self.checks = checks
            self.foreignKeys = foreignKeys
        }
    }

    public struct Column: Sendable, Hashable, Codable {
        public var name: String
        /// The type as the server spells it (`bigint`, `character varying(64)`, `datetime(6)`).
        public var type: String
        public var family: TypeFamily
        public var nullable: Bool
        /// The default expression as the server shows it, or `nil`.
        public var defaultValue: String?

        public init(name: String, type: String, family: TypeFamily, nullable: Bool, defaultValue: String?) {
            self.name = name
            self.type = type
            self.family = family
            self.nullable = nullable
            self.defaultValue = defaultValue
        }
    }

    /// Types grouped so that PostgreSQL and MySQL spellings of one idea compare equal.
    public enum TypeFamily: String, Sendable, Hashable, Codable {
        case integer, boolean, decimal, float, text, bytes, timestamp, date, json, other
    }

    public struct Index: Sendable, Hashable, Codable {
        public var name: String
        public var columns: [String]
        public var unique: Bool

        public init(name: String, columns: [String], unique: Bool) {
            self.name = name
            self.columns = columns
            self.unique = unique
        }
    }

    public struct Check: Sendable, Hashable, Codable {
        public var name: String
        /// The expression as the server shows it (differs in spelling between servers).
        public var expression: String

        public init(name: String, expression: String) {
            self.name = name
            self.expression = expression
        }
    }

    public struct ForeignKey: Sendable, Hashable, Codable {
        public var name: String
        public var columns: [String]
        public var referencedTable: String
        public var referencedColumns: [String]
        /// `CASCADE`, `RESTRICT`, `NO ACTION`, `SET NULL`, `SET DEFAULT`.
        public var onDelete: String
        public var onUpdate: String

        public init(name: String, columns: [String], referencedTable: String, referencedColumns: [String],
                    onDelete: String, onUpdate: String) {
            self.name = name
            self.columns = columns
            self.referencedTable = referencedTable
            self.referencedColumns = referencedColumns
            self.onDelete = onDelete
            self.onUpdate = onUpdate
        }
    }
}
