import StrataMySQL
import StrataPostgres
import StrataSQL
import Testing

@Suite("SQL queries")
struct SQLQueryTests {
    private let mysql = MySQLDialect()

    /// Rendering: values become placeholders in order, identifiers are quoted.
    @Test func interpolationRendersPlaceholdersAndQuotedIdentifiers() throws {
        let id: Int64 = 7
        let q: SQLQuery = "SELECT v FROM \(identifier: "t") WHERE id = \(id) AND note = \("x'y")"
        let (sql, binds) = try q.render(for: mysql)
        #expect(sql == "SELECT v FROM `t` WHERE id = ? AND note = ?")
        #expect(binds == [.int(7), .string("x'y")])
    }

    /// Identifiers from configuration are validated and quoted: `name` or `schema.name`,
    /// ASCII letters, digits and `_`, not starting with a digit, 63 bytes at most.
    @Test func identifiersAreValidatedAndQuoted() throws {
        let postgres = PostgresDialect()
        #expect(try postgres.quoteIdentifier("credit_wallets") == #""credit_wallets""#)
        #expect(try postgres.quoteIdentifier("billing.T1") == #""billing"."T1""#)
        #expect(try mysql.quoteIdentifier("billing.t1") == "`billing`.`t1`")
        #expect(try mysql.quoteIdentifier("_" + String(repeating: "a", count: 62)) == "`_" + String(repeating: "a", count: 62) + "`")
        for bad in ["", ".", "a.", ".a", "a.b.c", "1a", "a-b", "a b", "é", "x;DROP TABLE y", "a\"b", "a`b",
                    String(repeating: "a", count: 64)] {
            #expect(throws: DatabaseError.self, "\(bad)") { try postgres.quoteIdentifier(bad) }
            #expect(throws: DatabaseError.self, "\(bad)") { try mysql.quoteIdentifier(bad) }
        }
        do {
            _ = try postgres.quoteIdentifier("a.b.c")
        } catch let error as DatabaseError {
            #expect(error.category == .invalidIdentifier)
            #expect(error.message.contains("'a.b.c'"))
        }
    }

    /// A driver skips rendering a statement whose text it rendered last: only the same
    /// text and identifiers with binds in the same places count as the same, whatever
    /// the values.
    @Test func rendersLikeComparesTextNotValues() {
        func select(_ table: String, _ id: Int64) -> SQLQuery {
            "SELECT v FROM \(identifier: table) WHERE id = \(id)"
        }
        let last = select("t", 1)
        #expect(select("t", 2).rendersLike(last))
        #expect(!select("u", 1).rendersLike(last), "another identifier")
        #expect(!SQLQuery("SELECT v FROM \(identifier: "t") WHERE id <> \(Int64(1))").rendersLike(last), "other text")
        #expect(!SQLQuery("SELECT v FROM \(identifier: "t") WHERE id = \(unsafeRaw: "1")").rendersLike(last), "text where a bind was")
        #expect(!SQLQuery("SELECT v FROM \(identifier: "t") WHERE id = \(Int64(1)) LIMIT 1").rendersLike(last), "longer")
    }

    /// A driver keeps the last query for `rendersLike` only when its values are small.
    @Test func bindsAreSmallUpToTheLimit() {
        let small: SQLQuery = "INSERT INTO t VALUES (\(Int64(1)), \(String(repeating: "x", count: 256)), \([UInt8](repeating: 0, count: 10)), \(nil as String?))"
        #expect(small.bindsAreSmall())
        #expect(!SQLQuery("INSERT INTO t VALUES (\(String(repeating: "é", count: 129)))").bindsAreSmall(), "258 bytes of UTF-8")
        #expect(!SQLQuery("INSERT INTO t VALUES (\([UInt8](repeating: 0, count: 257)))").bindsAreSmall())
        #expect(SQLQuery("SELECT 1").bindsAreSmall())
    }
}
