import StrataSQL

/// The differences between two schema snapshots, as one human-readable line each.
///
/// `migrate verify` compares the schema before a migration's up with the schema after
/// its down, on one server (``Mode/exact``); `migrate parity` compares the schemas that
/// the PostgreSQL and the MySQL migrations produce (``Mode/parity``). Each line names
/// the table and the object, then says what each side has, the second side named last:
///
/// ```
/// table grace_periods missing after down
/// table grace_periods: column note only after down
/// table credit_wallets: column balance: nullable in postgres, NOT NULL in mysql
/// table grace_periods: index uq_grace_open missing after down
/// table children: foreign key fk_parent: (parent_id) REFERENCES parents (id) ON DELETE CASCADE in postgres, (parent_id) REFERENCES parents (id) ON DELETE RESTRICT in mysql
/// ```
///
/// `missing <second>` is an object only the first snapshot has, `only <second>` one only
/// the second has. The lines come in a fixed order: tables by name; in a table, its
/// columns (in the first snapshot's order, then the second's own), column order,
/// primary key, then indexes, checks and foreign keys, each by name.
///
/// ```swift
/// let lines = SchemaDiff.differences(from: beforeUp, to: afterDown, mode: .exact,
///                                    labels: ("before up", "after down"))
/// // [] when the down put back exactly the schema the up started from
/// ```
public struct SchemaDiff: Sendable {
    /// What counts as a difference.
    public enum Mode: Sendable, Hashable {
        /// Two schemas of one server (`verify`): tables; columns with their type as the
        /// server spells it, nullability, default and order; primary keys; indexes with
        /// their columns and uniqueness; checks with their expressions; foreign keys with
        /// columns, referenced table and columns, `ON DELETE` and `ON UPDATE`.
        case exact
        /// A PostgreSQL schema against a MySQL one (`parity`): tables; columns by name,
        /// order, type family and nullability (defaults are not compared); primary keys;
        /// indexes by name with their columns and uniqueness; checks by name only (the
        /// servers spell expressions differently); foreign keys by name with columns,
        /// referenced table and columns and `ON DELETE`, where `RESTRICT` and `NO ACTION`
        /// are the same (MySQL reports its default as `RESTRICT`, PostgreSQL as
        /// `NO ACTION`). A column indexed by prefix (`code(20)`) counts as the whole
        /// column in a non-unique index, where the prefix only changes speed, but not in
        /// a unique one, where it changes what counts as a duplicate.
        case parity

        /// The labels used when the caller gives none.
        public var defaultLabels: (String, String) {
            switch self {
            case .exact: ("before up", "after down")
            case .parity: ("postgres", "mysql")
            }
        }
    }

    private init() {}

    /// Lists how schema `b` differs from schema `a`; an empty list means they are the same.
    ///
    /// - Parameters:
    ///   - a: the first schema (before up; PostgreSQL's).
    ///   - b: the second schema (after down; MySQL's).
    ///   - mode: what counts as a difference.
    ///   - labels: what the two sides are called in the lines. A label reads after the
    ///     fact it qualifies, so a phrase (`before up`, `after down`, `in staging`) is
    ///     used as it is, and a single word names a place and reads as `in <word>`
    ///     (`postgres` → `in postgres`). Default: ``Mode/defaultLabels``.
    /// - Returns: one line per difference, in a fixed order.
    public static func differences(from a: SchemaSnapshot, to b: SchemaSnapshot, mode: Mode,
                                   labels: (String, String)? = nil) -> [String] {
        let (first, second) = labels ?? mode.defaultLabels
        var comparison = Comparison(mode: mode, first: phrase(first), second: phrase(second))
        comparison.compare(a, b)
        return comparison.lines
    }

    private static func phrase(_ label: String) -> String {
        label.contains(" ") ? label : "in \(label)"
    }
}

/// One run of a comparison, collecting its lines.
private struct Comparison {
    let mode: SchemaDiff.Mode
    let first: String
    let second: String
    var lines: [String] = []

    mutating func compare(_ a: SchemaSnapshot, _ b: SchemaSnapshot) {
        for name in Set(a.tables.keys).union(b.tables.keys).sorted() {
            switch (a.tables[name], b.tables[name]) {
            case let (x?, y?): compare(table: name, x, y)
            case (.some, nil): lines.append("table \(name) missing \(second)")
            case (nil, .some): lines.append("table \(name) only \(second)")
            case (nil, nil): break
            }
        }
    }

    private mutating func compare(table: String, _ a: SchemaSnapshot.Table, _ b: SchemaSnapshot.Table) {
        let subject = "table \(table)"

        for (name, x, y) in match(a.columns, b.columns, name: \.name, byName: false) {
            let column = "\(subject): column \(name)"
            guard let x, let y else { presence(column, firstHasIt: x != nil); continue }
            compare(column: column, x, y)
        }
        let bNames = Set(b.columns.map(\.name)), aNames = Set(a.columns.map(\.name))
        let aOrder = a.columns.map(\.name).filter(bNames.contains)
        let bOrder = b.columns.map(\.name).filter(aNames.contains)
        if aOrder != bOrder {
            differ(subject, "column order \(list(aOrder))", list(bOrder))
        }

        if a.primaryKey != b.primaryKey {
            differ(subject, primaryKey(a.primaryKey), primaryKey(b.primaryKey))
        }

        for (name, x, y) in match(a.indexes, b.indexes, name: \.name, byName: true) {
            let index = "\(subject): index \(name)"
            guard let x, let y else { presence(index, firstHasIt: x != nil); continue }
            if comparable(x) != comparable(y) { differ(index, describe(x), describe(y)) }
        }

        for (name, x, y) in match(a.checks, b.checks, name: \.name, byName: true) {
            let check = "\(subject): check \(name)"
            guard let x, let y else { presence(check, firstHasIt: x != nil); continue }
            if mode == .exact && x.expression != y.expression { differ(check, x.expression, y.expression) }
        }

        for (name, x, y) in match(a.foreignKeys, b.foreignKeys, name: \.name, byName: true) {
            let key = "\(subject): foreign key \(name)"
            guard let x, let y else { presence(key, firstHasIt: x != nil); continue }
            if comparable(x) != comparable(y) { differ(key, describe(x), describe(y)) }
        }
    }

    private mutating func compare(column subject: String, _ x: SchemaSnapshot.Column, _ y: SchemaSnapshot.Column) {
        switch mode {
        case .exact:
            if x.type != y.type || x.family != y.family {
                // The family only shows when it alone differs (MariaDB's JSON check lost).
                let sameFamily = x.family == y.family
                func type(_ c: SchemaSnapshot.Column) -> String { sameFamily ? c.type : "\(c.type) (\(c.family.rawValue))" }
                differ(subject, "type \(type(x))", type(y))
            }
        case .parity:
            if x.family != y.family {
                differ(subject, "type family \(x.family.rawValue) (\(x.type))", "\(y.family.rawValue) (\(y.type))")
            }
        }
        if x.nullable != y.nullable {
            differ(subject, x.nullable ? "nullable" : "NOT NULL", y.nullable ? "nullable" : "NOT NULL")
        }
        if mode == .exact && x.defaultValue != y.defaultValue {
            differ(subject, x.defaultValue.map { "default \($0)" } ?? "no default",
                   y.defaultValue.map { "default \($0)" } ?? "no default")
        }
    }

    // MARK: Lines

    /// `<subject>: <x> <first>, <y> <second>`.
    private mutating func differ(_ subject: String, _ x: String, _ y: String) {
        lines.append("\(subject): \(x) \(first), \(y) \(second)")
    }

    private mutating func presence(_ subject: String, firstHasIt: Bool) {
        lines.append(firstHasIt ? "\(subject) missing \(second)" : "\(subject) only \(second)")
    }

    private func list(_ names: [String]) -> String {
        "(" + names.joined(separator: ", ") + ")"
    }

    private func primaryKey(_ columns: [String]) -> String {
        columns.isEmpty ? "no primary key" : "primary key \(list(columns))"
    }

    private func describe(_ index: SchemaSnapshot.Index) -> String {
        "\(index.unique ? "unique" : "non-unique") \(list(index.columns))"
    }

    private func describe(_ key: SchemaSnapshot.ForeignKey) -> String {
        let base = "\(list(key.columns)) REFERENCES \(key.referencedTable) \(list(key.referencedColumns)) ON DELETE \(key.onDelete)"
        return mode == .exact ? "\(base) ON UPDATE \(key.onUpdate)" : base
    }

    // MARK: What is compared

    private func comparable(_ index: SchemaSnapshot.Index) -> SchemaSnapshot.Index {
        guard mode == .parity, !index.unique else { return index }
        var index = index
        index.columns = index.columns.map(Self.withoutPrefixLength)
        return index
    }

    private func comparable(_ key: SchemaSnapshot.ForeignKey) -> SchemaSnapshot.ForeignKey {
        guard mode == .parity else { return key }
        var key = key
        key.onDelete = key.onDelete == "RESTRICT" ? "NO ACTION" : key.onDelete
        key.onUpdate = ""
        return key
    }

    /// `code(20)` → `code`; anything else (an expression included) as it is.
    static func withoutPrefixLength(_ column: String) -> String {
        guard column.hasSuffix(")"), let open = column.lastIndex(of: "(") else { return column }
        let name = column[..<open]
        let length = column[column.index(after: open)..<column.index(before: column.endIndex)]
        let isName = !name.isEmpty && name.allSatisfy { $0 == "_" || $0.isLetter || $0.isNumber }
        guard isName, !length.isEmpty, length.allSatisfy(\.isASCII), length.allSatisfy(\.isNumber) else { return column }
        return String(name)
    }

    /// Pairs two lists' objects by name: `(name, in a, in b)`. By name sorts the names;
    /// otherwise `a`'s order comes first, then the objects only `b` has, in `b`'s order.
    private func match<T>(_ a: [T], _ b: [T], name: KeyPath<T, String>, byName: Bool) -> [(String, T?, T?)] {
        let inA = Dictionary(a.map { ($0[keyPath: name], $0) }, uniquingKeysWith: { first, _ in first })
        let inB = Dictionary(b.map { ($0[keyPath: name], $0) }, uniquingKeysWith: { first, _ in first })
        var names: [String]
        if byName {
            names = Set(inA.keys).union(inB.keys).sorted()
        } else {
            names = []
            var seen = Set<String>()
            for n in a.map({ $0[keyPath: name] }) + b.map({ $0[keyPath: name] }) where seen.insert(n).inserted {
                names.append(n)
            }
        }
        return names.map { ($0, inA[$0], inB[$0]) }
    }
}
