import StrataMySQL
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

    /// A driver skips rendering a statement whose text it rendered last: only the same
    /// text and identifiers with binds in the same places count as the same, whatever
    /// the values.
    @Test func rendersLikeComparesTextNotValues() {
        func select(_ table: String, _ id: Int64) -> SQLQuery {
            "SELECT v FROM \(identifier: table) WHERE id = \(id)"
        }
        let template = select("t", 1).template
        #expect(select("t", 2).rendersLike(template))
        #expect(!select("u", 1).rendersLike(template), "another identifier")
        #expect(!SQLQuery("SELECT v FROM \(identifier: "t") WHERE id <> \(Int64(1))").rendersLike(template), "other text")
        #expect(!SQLQuery("SELECT v FROM \(identifier: "t") WHERE id = \(unsafeRaw: "1")").rendersLike(template), "text where a bind was")
        #expect(!SQLQuery("SELECT v FROM \(identifier: "t") WHERE id = \(Int64(1)) LIMIT 1").rendersLike(template), "longer")
        // The template keeps no value.
        #expect(template.binds == [.null])
    }
}
