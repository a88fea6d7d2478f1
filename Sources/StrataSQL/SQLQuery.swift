/// SQL text with its values kept apart, built by string interpolation.
///
/// Every interpolated value becomes a bind, rendered as a placeholder by the dialect
/// (`$1` on PostgreSQL, `?` on MySQL). Identifiers go through `identifier:`, which
/// validates and quotes them; raw text needs the loudly named `unsafeRaw:`.
///
/// ```swift
/// let q: SQLQuery = "SELECT balance FROM credit_wallets WHERE customer_id = \(customerID)"
/// let t: SQLQuery = "SELECT * FROM \(identifier: historyTable) WHERE version = \(v)"
/// ```
public struct SQLQuery: Sendable, ExpressibleByStringInterpolation, CustomStringConvertible {
    enum Fragment: Sendable {
        case sql(String)
        case bind(SQLValue)
        case identifier(String)
    }

    var fragments: [Fragment]

    public init(stringLiteral value: String) {
        fragments = [.sql(value)]
    }

    public init(stringInterpolation: StringInterpolation) {
        fragments = stringInterpolation.fragments
    }

    /// SQL text taken as it is, with no binds. For migration files and fixed statements.
    public init(unsafeSQL: String) {
        fragments = [.sql(unsafeSQL)]
    }

    init(fragments: [Fragment]) {
        self.fragments = fragments
    }

    public struct StringInterpolation: StringInterpolationProtocol {
        var fragments: [Fragment] = []

        public init(literalCapacity: Int, interpolationCount: Int) {
            fragments.reserveCapacity(interpolationCount * 2 + 1)
        }

        public mutating func appendLiteral(_ literal: String) {
            fragments.append(.sql(literal))
        }

        /// A value, sent as a bind.
        public mutating func appendInterpolation(_ value: some SQLValueConvertible) {
            fragments.append(.bind(value.sqlValue))
        }

        /// An optional value: NULL when `nil`.
        public mutating func appendInterpolation<T: SQLValueConvertible>(_ value: T?) {
            fragments.append(.bind(value?.sqlValue ?? .null))
        }

        /// An identifier (table, column), validated and quoted by the dialect.
        public mutating func appendInterpolation(identifier: String) {
            fragments.append(.identifier(identifier))
        }

        /// Another query, spliced in with its binds.
        public mutating func appendInterpolation(_ query: SQLQuery) {
            fragments.append(contentsOf: query.fragments)
        }

        /// Values as a comma-separated list of binds, for `IN (...)`.
        public mutating func appendInterpolation(list values: [some SQLValueConvertible]) {
            for (i, v) in values.enumerated() {
                if i > 0 { fragments.append(.sql(", ")) }
                fragments.append(.bind(v.sqlValue))
            }
        }

        /// Text that goes into the SQL as it is. Never pass anything that came from input.
        public mutating func appendInterpolation(unsafeRaw text: String) {
            fragments.append(.sql(text))
        }
    }

    /// Appends another query.
    public static func + (a: SQLQuery, b: SQLQuery) -> SQLQuery {
        SQLQuery(fragments: a.fragments + b.fragments)
    }

    public mutating func append(_ other: SQLQuery) {
        fragments += other.fragments
    }

    /// The binds, in order.
    public var binds: [SQLValue] {
        fragments.compactMap { if case .bind(let v) = $0 { v } else { nil } }
    }

    /// The SQL text for a dialect, with its placeholders, and the binds in order.
    ///
    /// - Throws: ``DatabaseError`` `.invalidIdentifier` for an identifier the dialect refuses.
    public func render(for dialect: some SQLDialect) throws -> (sql: String, binds: [SQLValue]) {
        var sql = ""
        try render(for: dialect, into: &sql)
        return (sql, binds)
    }

    /// Renders the text into `sql`, replacing what it held and reusing its storage, so a
    /// driver that runs statement after statement need not allocate for each one; the
    /// values go to the driver through ``forEachBind(_:)``.
    ///
    /// - Returns: the number of binds.
    /// - Throws: ``DatabaseError`` `.invalidIdentifier`; `sql` is then empty.
    @discardableResult
    package func render(for dialect: some SQLDialect, into sql: inout String) throws -> Int {
        sql.removeAll(keepingCapacity: sql.utf8.count <= 4096)
        // Sized up front: a statement is rendered on every execution.
        var length = 0
        for f in fragments {
            switch f {
            case .sql(let s): length += s.utf8.count
            case .bind: length += 4
            case .identifier(let name): length += name.utf8.count + 2
            }
        }
        sql.reserveCapacity(length)
        var bindCount = 0
        do {
            for f in fragments {
                switch f {
                case .sql(let s): sql += s
                case .bind:
                    bindCount += 1
                    sql += dialect.placeholder(bindCount)
                case .identifier(let name):
                    sql += try dialect.quoteIdentifier(name)
                }
            }
        } catch {
            sql.removeAll()
            throw error
        }
        return bindCount
    }

    /// The text with each bind written by `writeBind` where the placeholder would be: for
    /// a driver that sends a statement's values inline, each in a form that cannot end
    /// its literal.
    ///
    /// - Throws: ``DatabaseError`` `.invalidIdentifier`, or what `writeBind` throws.
    package func render(for dialect: some SQLDialect,
                        writingBinds writeBind: (SQLValue, inout String) throws -> Void) throws -> String {
        var sql = ""
        for f in fragments {
            switch f {
            case .sql(let s): sql += s
            case .bind(let value): try writeBind(value, &sql)
            case .identifier(let name): sql += try dialect.quoteIdentifier(name)
            }
        }
        return sql
    }

    /// Whether the query renders to the same text as `other`, in any dialect: the same
    /// text and identifiers, with binds in the same places (their values aside).
    ///
    /// A driver that runs one statement again and again skips rendering it: comparing is
    /// cheaper, above all for the literal parts of an interpolation, which are the same
    /// strings each time.
    package func rendersLike(_ other: SQLQuery) -> Bool {
        guard fragments.count == other.fragments.count else { return false }
        for (a, b) in zip(fragments, other.fragments) {
            switch (a, b) {
            case (.sql(let x), .sql(let y)), (.identifier(let x), .identifier(let y)):
                guard x == y else { return false }
            case (.bind, .bind):
                continue
            default:
                return false
            }
        }
        return true
    }

    /// Whether every bound value is small (fixed-size, or text and bytes of at most
    /// `limit` bytes): such a query is cheap to keep after its statement ran, for
    /// ``rendersLike(_:)``, where keeping a large value would hold its memory.
    package func bindsAreSmall(limit: Int = 256) -> Bool {
        for case .bind(let value) in fragments {
            switch value {
            case .decimal(let s), .string(let s), .json(let s):
                if s.utf8.count > limit { return false }
            case .bytes(let b):
                if b.count > limit { return false }
            case .null, .bool, .int, .double, .timestamp:
                continue
            }
        }
        return true
    }

    /// Calls `body` with each bound value in order, with its 0-based position.
    package func forEachBind(_ body: (Int, SQLValue) throws -> Void) rethrows {
        var i = 0
        for case .bind(let value) in fragments {
            try body(i, value)
            i += 1
        }
    }

    /// The text with `?` for binds; bound values never appear.
    public var description: String {
        fragments.map {
            switch $0 {
            case .sql(let s): s
            case .bind: "?"
            case .identifier(let n): "\"\(n)\""
            }
        }.joined()
    }
}
