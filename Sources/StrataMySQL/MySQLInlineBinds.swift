internal import CMariaDB
import StrataSQL

/// A query's text with its binds written in as literals, for the text protocol: what
/// the driver sends to a Galera node instead of a prepared statement.
///
/// **Why.** On a Galera node, a transaction that holds row locks is aborted when a
/// write set replicated from another node needs them (a brute-force abort). When that
/// abort meets a prepared statement's execution, MariaDB 10.11 can leave the statement
/// unanswered: the server is idle and the client waits for a reply that never comes
/// (reproduced here with three nodes and 1,000 concurrent charges on one wallet: every
/// connection waiting in `mysql_stmt_execute`, every server thread sleeping; the bug
/// class of mysql-wsrep #287 and MDEV-27649). Over the text protocol the abort comes
/// back as the error it is (1213), and the transaction runs again.
///
/// **Safety.** The values still never become SQL: each one is written in a form that
/// cannot end its literal — text and JSON as a hex string with a `_utf8mb4` introducer
/// (no quote or backslash can appear in it), bytes as a hex string, numbers as digits
/// the driver formats, times as a quoted literal of digits and separators. Nothing
/// depends on the connection's character set or on `NO_BACKSLASH_ESCAPES`. A decimal
/// is checked to be a plain decimal number before it is written.
enum MySQLInlineBinds {
    /// The text of `query` with every bind as a literal.
    ///
    /// - Throws: ``DatabaseError`` for an identifier the dialect refuses, a timestamp
    ///   outside `DATETIME`'s years, a decimal that is not a number, or a double that is
    ///   infinite or not a number (which MySQL cannot store either).
    static func render(_ query: SQLQuery, dialect: MySQLDialect) throws -> String {
        try query.render(for: dialect, writingBinds: append)
    }

    static func append(_ value: SQLValue, to sql: inout String) throws {
        switch value {
        case .null: sql += "NULL"
        case .bool(let b): sql += b ? "TRUE" : "FALSE"
        case .int(let v): appendNumber(String(v), to: &sql)
        case .double(let d):
            guard d.isFinite else {
                throw DatabaseError(.other, message: "a double bind must be finite, not \(d)")
            }
            // Swift writes the shortest text that reads back as the same double; with an
            // exponent MySQL reads it as a double, not as an exact decimal.
            appendNumber(d.description.contains("e") ? d.description : d.description + "E0", to: &sql)
        case .decimal(let s):
            guard isPlainDecimal(s) else {
                throw DatabaseError(.other, message: "a decimal bind must be a plain decimal number")
            }
            appendNumber(s, to: &sql)
        case .string(let s), .json(let s):
            sql += "_utf8mb4 X'"
            appendHex(s.utf8, to: &sql)
            sql += "'"
        case .bytes(let b):
            sql += "X'"
            appendHex(b, to: &sql)
            sql += "'"
        case .timestamp(let t):
            let time = try MySQLTime.mysqlTime(t)
            sql += "TIMESTAMP'" + MySQLTime.text(time, type: MYSQL_TYPE_DATETIME) + "'"
        }
    }

    /// A negative number in parentheses: after a `-` of the statement's own, `--5` could
    /// read as the start of a comment.
    private static func appendNumber(_ text: String, to sql: inout String) {
        sql += text.hasPrefix("-") ? "(" + text + ")" : text
    }

    /// `-`? digits, optionally `.` and digits: nothing else reaches the SQL.
    static func isPlainDecimal(_ s: String) -> Bool {
        var digits = Substring(s)
        if digits.first == "-" { digits.removeFirst() }
        let parts = digits.split(separator: ".", maxSplits: 1, omittingEmptySubsequences: false)
        guard let whole = parts.first, !whole.isEmpty, whole.utf8.allSatisfy({ (48...57).contains($0) }) else { return false }
        if parts.count == 2 {
            return !parts[1].isEmpty && parts[1].utf8.allSatisfy { (48...57).contains($0) }
        }
        return true
    }

    private static let hexDigits = Array("0123456789ABCDEF".utf8)

    private static func appendHex(_ bytes: some Sequence<UInt8>, to sql: inout String) {
        var hex: [UInt8] = []
        hex.reserveCapacity(bytes.underestimatedCount * 2)
        for byte in bytes {
            hex.append(hexDigits[Int(byte >> 4)])
            hex.append(hexDigits[Int(byte & 0x0F)])
        }
        sql += String(decoding: hex, as: UTF8.self)
    }
}
