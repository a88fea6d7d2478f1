import StrataMigrations
import Testing

private func texts(_ sql: String, _ dialect: SQLSplitDialect) throws -> [String] {
    try SQLSplitter.split(sql, dialect: dialect).map(\.text)
}

private func splitError(_ sql: String, _ dialect: SQLSplitDialect) -> SQLSplitError? {
    do {
        _ = try SQLSplitter.split(sql, dialect: dialect)
        return nil
    } catch {
        return error
    }
}

@Suite struct SQLSplitterTests {
    // MARK: Statements

    @Test(arguments: SQLSplitDialect.allCases)
    func splitsAndTrimsStatements(dialect: SQLSplitDialect) throws {
        #expect(try texts("SELECT 1;SELECT 2;\n  SELECT\n  3 ;\n", dialect) == ["SELECT 1", "SELECT 2", "SELECT\n  3"])
    }

    @Test(arguments: SQLSplitDialect.allCases)
    func keepsLastStatementWithoutDelimiter(dialect: SQLSplitDialect) throws {
        #expect(try texts("SELECT 1;\nSELECT 2", dialect) == ["SELECT 1", "SELECT 2"])
    }

    @Test(arguments: SQLSplitDialect.allCases)
    func dropsEmptyAndCommentOnlyStatements(dialect: SQLSplitDialect) throws {
        #expect(try texts("", dialect).isEmpty)
        #expect(try texts(" \n\t\r\n", dialect).isEmpty)
        #expect(try texts("-- only a comment\n/* and; another */\n", dialect).isEmpty)
        #expect(try texts(";;\n ; -- x\n;SELECT 1;;", dialect) == ["SELECT 1"])
    }

    @Test(arguments: SQLSplitDialect.allCases)
    func dropsLeadingAndTrailingCommentsButKeepsInnerOnes(dialect: SQLSplitDialect) throws {
        let sql = "-- header\n/* block */ SELECT /* inner; */ 1, -- note;\n 2 -- trailing\n;"
        #expect(try texts(sql, dialect) == ["SELECT /* inner; */ 1, -- note;\n 2"])
    }

    @Test func numbersStatementsFromZero() throws {
        let statements = try SQLSplitter.split("SELECT 1; SELECT 2; SELECT 3", dialect: .postgres)
        #expect(statements.map(\.index) == [0, 1, 2])
    }

    // MARK: Strings and identifiers

    @Test(arguments: SQLSplitDialect.allCases)
    func singleQuotesWithDoubledQuotes(dialect: SQLSplitDialect) throws {
        #expect(try texts("SELECT 'a;''b'';c'; SELECT 2", dialect) == ["SELECT 'a;''b'';c'", "SELECT 2"])
    }

    @Test func postgresPlainStringsHaveNoBackslashEscapes() throws {
        #expect(try texts(#"SELECT 'a\'; SELECT 2"#, .postgres) == [#"SELECT 'a\'"#, "SELECT 2"])
        // `name` ends in `e`, which does not make the string an E'' string.
        #expect(try texts(#"SELECT * FROM t WHERE name='x\'; SELECT 2"#, .postgres).count == 2)
    }

    @Test func postgresEStringsHaveBackslashEscapes() throws {
        #expect(try texts(#"SELECT E'it\'s; ok'; SELECT 2"#, .postgres) == [#"SELECT E'it\'s; ok'"#, "SELECT 2"])
        #expect(try texts(#"SELECT e'a\\'; SELECT 2"#, .postgres) == [#"SELECT e'a\\'"#, "SELECT 2"])
        #expect(try texts(#"SELECT E'x'';y\';z'; SELECT 2"#, .postgres).count == 2)
    }

    @Test func mysqlStringsHaveBackslashEscapesInBothQuotes() throws {
        let sql = #"INSERT INTO t VALUES ('it\'s; ok', "say \"hi\"; ok", 'a\\', "b""c;"); SELECT 2"#
        #expect(try texts(sql, .mysql) == [#"INSERT INTO t VALUES ('it\'s; ok', "say \"hi\"; ok", 'a\\', "b""c;")"#, "SELECT 2"])
    }

    @Test func postgresDoubleQuotedIdentifiers() throws {
        #expect(try texts(#"SELECT 1 AS "a;""b\"; SELECT 2"#, .postgres) == [#"SELECT 1 AS "a;""b\""#, "SELECT 2"])
    }

    @Test func mysqlBackticks() throws {
        #expect(try texts("SELECT 1 AS `a;``b`; SELECT 2", .mysql) == ["SELECT 1 AS `a;``b`", "SELECT 2"])
        // Backticks quote nothing on PostgreSQL.
        #expect(try texts("SELECT `a;b`", .postgres) == ["SELECT `a", "b`"])
    }

    // MARK: Dollar quotes

    @Test func postgresDollarQuotes() throws {
        let sql = """
            CREATE FUNCTION f() RETURNS int AS $$ BEGIN RETURN 1; END $$ LANGUAGE plpgsql;
            CREATE FUNCTION g() RETURNS text AS $fn$ SELECT 'x;'; SELECT $$;$$; $fn$ LANGUAGE sql;
            SELECT $_t1$;$_t1$, $é$;$é$
            """
        let statements = try SQLSplitter.split(sql, dialect: .postgres)
        #expect(statements.map(\.line) == [1, 2, 3])
        #expect(statements[1].text.hasSuffix("$fn$ LANGUAGE sql"))
        #expect(statements[2].text == "SELECT $_t1$;$_t1$, $é$;$é$")
    }

    @Test func postgresParametersAndIdentifiersWithDollarsAreNotDollarQuotes() throws {
        #expect(try texts("SELECT $1; SELECT $2", .postgres) == ["SELECT $1", "SELECT $2"])
        #expect(try texts("SELECT a$b$c FROM t; SELECT 2", .postgres) == ["SELECT a$b$c FROM t", "SELECT 2"])
        #expect(try texts("SELECT $1a$; SELECT 2", .postgres) == ["SELECT $1a$", "SELECT 2"])
    }

    @Test func mysqlHasNoDollarQuotes() throws {
        #expect(try texts("SELECT $$; SELECT $$", .mysql) == ["SELECT $$", "SELECT $$"])
    }

    // MARK: Comments

    @Test func postgresDoubleDashAlwaysStartsAComment() throws {
        #expect(try texts("SELECT 1--2;\nSELECT 3", .postgres) == ["SELECT 1--2;\nSELECT 3"])
        #expect(try texts("SELECT 1 -- ; no split\n; SELECT 2", .postgres) == ["SELECT 1", "SELECT 2"])
    }

    @Test func mysqlDoubleDashNeedsABlankAfterIt() throws {
        #expect(try texts("SELECT 1--2;\nSELECT 3", .mysql) == ["SELECT 1--2", "SELECT 3"])
        #expect(try texts("SELECT 1 -- ; no split\n; SELECT 2 --", .mysql) == ["SELECT 1", "SELECT 2"])
        #expect(try texts("SELECT 1 --\t;\n; SELECT 2", .mysql) == ["SELECT 1", "SELECT 2"])
    }

    @Test func hashCommentsOnMySQLOnly() throws {
        #expect(try texts("SELECT 1 # ; it's a comment\n; SELECT 2", .mysql) == ["SELECT 1", "SELECT 2"])
        #expect(try texts("SELECT 5 # 3; SELECT 2", .postgres) == ["SELECT 5 # 3", "SELECT 2"])
    }

    @Test func postgresBlockCommentsNest() throws {
        let sql = "/* outer /* inner; */ still; comment */ SELECT 1; SELECT /* a /* b */ c; */ 2"
        #expect(try texts(sql, .postgres) == ["SELECT 1", "SELECT /* a /* b */ c; */ 2"])
    }

    @Test func mysqlBlockCommentsDoNotNest() throws {
        #expect(try texts("/* a /* b; */ SELECT 1; SELECT 2", .mysql) == ["SELECT 1", "SELECT 2"])
        #expect(splitError("/* a /* b; */ SELECT 1; SELECT 2", .postgres) != nil)
    }

    @Test func mysqlExecutableCommentsAreStatementText() throws {
        let sql = """
            /*!40101 SET @saved = @@character_set_client; SET NAMES utf8mb4 */;
            CREATE TABLE t (a INT) /*!50100 ENGINE=InnoDB; */;
            /*M!100100 SET sql_mode = 'x;' */;
            /* just a comment; */
            """
        #expect(try texts(sql, .mysql) == [
            "/*!40101 SET @saved = @@character_set_client; SET NAMES utf8mb4 */",
            "CREATE TABLE t (a INT) /*!50100 ENGINE=InnoDB; */",
            "/*M!100100 SET sql_mode = 'x;' */",
        ])
    }

    // MARK: PostgreSQL blocks

    @Test func postgresKeepsSemicolonsInsideParentheses() throws {
        let sql = "CREATE RULE r AS ON INSERT TO t DO ALSO (INSERT INTO a VALUES (1); NOTIFY t); SELECT 1"
        #expect(try texts(sql, .postgres) == [
            "CREATE RULE r AS ON INSERT TO t DO ALSO (INSERT INTO a VALUES (1); NOTIFY t)", "SELECT 1",
        ])
    }

    @Test func postgresKeepsBeginAtomicBodiesWhole() throws {
        let sql = """
            CREATE OR REPLACE FUNCTION f() RETURNS int LANGUAGE sql
            BEGIN ATOMIC
              SELECT 1;
              SELECT CASE WHEN true THEN 1 ELSE 2 END;
            END;
            create procedure p() language sql begin atomic insert into t values (1); end;
            BEGIN; SELECT 1; END;
            """
        let statements = try SQLSplitter.split(sql, dialect: .postgres)
        #expect(statements.map(\.line) == [1, 6, 7, 7, 7])
        #expect(statements[0].text.hasSuffix("END;\nEND"))
        #expect(statements[1].text == "create procedure p() language sql begin atomic insert into t values (1); end")
        #expect(statements.suffix(3).map(\.text) == ["BEGIN", "SELECT 1", "END"])
    }

    // MARK: DELIMITER

    @Test func mysqlDelimiterKeepsBodiesWhole() throws {
        let sql = """
            DELIMITER $$
            CREATE TRIGGER t BEFORE INSERT ON x FOR EACH ROW
            BEGIN
              SET NEW.a = 1;
              SET NEW.b = 'x;';
            END$$
              delimiter //
            CREATE PROCEDURE p() BEGIN SELECT 1; SELECT 2; END //
            DELIMITER ;
            SELECT 3;
            """
        let statements = try SQLSplitter.split(sql, dialect: .mysql)
        #expect(statements.map(\.text) == [
            "CREATE TRIGGER t BEFORE INSERT ON x FOR EACH ROW\nBEGIN\n  SET NEW.a = 1;\n  SET NEW.b = 'x;';\nEND",
            "CREATE PROCEDURE p() BEGIN SELECT 1; SELECT 2; END",
            "SELECT 3",
        ])
        #expect(statements.map(\.line) == [2, 8, 10])
    }

    @Test func delimiterCountsOnlyAtTheStartOfALineOnMySQL() throws {
        #expect(try texts("SELECT 1; DELIMITER $$\nSELECT 2", .mysql) == ["SELECT 1", "DELIMITER $$\nSELECT 2"])
        #expect(try texts("DELIMITER //\nSELECT 1", .postgres) == ["DELIMITER //\nSELECT 1"])
        #expect(try texts("SELECT 'x\nDELIMITER $$'; SELECT 2", .mysql).count == 2)
    }

    @Test func delimiterLineEndsAPendingStatement() throws {
        #expect(try texts("SELECT 1\nDELIMITER //\nSELECT 2//", .mysql) == ["SELECT 1", "SELECT 2"])
    }

    @Test func delimiterWithoutAValueIsAnError() {
        #expect(splitError("SELECT 1;\nDELIMITER   \nSELECT 2", .mysql)?.line == 2)
    }

    // MARK: Lines

    @Test func reportsTheLineOfEachStatementsFirstToken() throws {
        let sql = "\n-- comment\n\n  /* a\n b */ SELECT 'x\ny';\nSELECT\n1; SELECT 2;\n\n\nSELECT 3"
        let statements = try SQLSplitter.split(sql, dialect: .postgres)
        #expect(statements.map(\.line) == [5, 7, 8, 11])
    }

    @Test(arguments: SQLSplitDialect.allCases)
    func handlesCRLFAndCRLineEndings(dialect: SQLSplitDialect) throws {
        let crlf = try SQLSplitter.split("SELECT 1;\r\nSELECT 'a\r\nb';\r\n-- c\r\n\r\nSELECT 3", dialect: dialect)
        #expect(crlf.map(\.line) == [1, 2, 6])
        #expect(crlf.map(\.text) == ["SELECT 1", "SELECT 'a\r\nb'", "SELECT 3"])
        let cr = try SQLSplitter.split("SELECT 1;\r-- c\rSELECT 2", dialect: dialect)
        #expect(cr.map(\.line) == [1, 3])
        #expect(cr.map(\.text) == ["SELECT 1", "SELECT 2"])
    }

    // MARK: Errors

    @Test(arguments: [
        ("SELECT 1;\nSELECT 'abc;\nSELECT 2", SQLSplitDialect.postgres, 2, "unterminated quoted string"),
        ("SELECT 1;\nSELECT 'it\\'s", .mysql, 2, "unterminated quoted string"),
        ("SELECT \"abc", .mysql, 1, "unterminated quoted string"),
        ("\n\nSELECT \"a\"\"b", .postgres, 3, "unterminated quoted identifier"),
        ("SELECT `a``", .mysql, 1, "unterminated quoted identifier"),
        ("SELECT E'a\\'\n", .postgres, 1, "unterminated E'' string"),
        ("SELECT 1;\r\nSELECT $fn$ x $$ y\r\n", .postgres, 2, "unterminated dollar-quoted string $fn$"),
        ("SELECT 1; /* a /* b */\n", .postgres, 1, "unterminated /* comment"),
        ("SELECT 1;\n\n/*!50001 SELECT 2", .mysql, 3, "unterminated /* comment"),
    ])
    func reportsUnterminatedConstructsWhereTheyStart(
        sql: String, dialect: SQLSplitDialect, line: Int, message: String
    ) {
        #expect(splitError(sql, dialect) == SQLSplitError(line: line, message: message))
    }

    @Test func errorDescriptionIsOneLine() {
        #expect(SQLSplitError(line: 3, message: "unterminated quoted string").description
                == "line 3: unterminated quoted string")
    }

    // MARK: Directives

    @Test func readsDirectivesFromLineComments() throws {
        let sql = "-- strata:no-transaction\nCREATE INDEX CONCURRENTLY i ON t (a);\n  --   strata:irreversible: data is gone\n"
        #expect(try MigrationDirectives(parsing: sql, dialect: .postgres) == [.noTransaction, .irreversible])
        #expect(try MigrationDirectives(parsing: "# strata:irreversible\nDROP TABLE t", dialect: .mysql) == .irreversible)
        #expect(try MigrationDirectives(parsing: "SELECT 1; -- a comment; strata: not one\n", dialect: .postgres) == [])
    }

    @Test func ignoresDirectivesInsideStringsAndBlockComments() throws {
        let sql = "SELECT '\n-- strata:irreversible\n';\n/*\n-- strata:no-transaction\n*/ SELECT $$\n-- strata:irreversible\n$$"
        #expect(try MigrationDirectives(parsing: sql, dialect: .postgres) == [])
    }

    @Test func rejectsUnknownDirectives() {
        #expect(throws: SQLSplitError(
            line: 2, message: "unknown directive strata:no-transation (known: strata:no-transaction, strata:irreversible, strata:lint-ignore)"
        )) {
            try MigrationDirectives(parsing: "SELECT 1;\n-- strata:no-transation\n", dialect: .postgres)
        }
    }

    // MARK: Statements that cannot run in a transaction

    @Test(arguments: [
        "CREATE INDEX CONCURRENTLY i ON t (a)",
        "create unique index concurrently if not exists i on t (a)",
        "CREATE /* why */ UNIQUE\n  INDEX -- because\n  CONCURRENTLY i ON t (a)",
        "DROP INDEX CONCURRENTLY IF EXISTS i",
        "REINDEX INDEX CONCURRENTLY i",
        "REINDEX (VERBOSE) TABLE CONCURRENTLY t",
        "REINDEX DATABASE strata",
        "ALTER TYPE state ADD VALUE 'dead'",
        "ALTER TYPE public.\"State\" ADD VALUE IF NOT EXISTS 'dead' AFTER 'processed'",
        "CREATE DATABASE scratch",
        "DROP DATABASE IF EXISTS scratch",
        "VACUUM ANALYZE t",
        "vacuum",
        "ALTER SYSTEM SET work_mem = '64MB'",
        "CREATE TABLESPACE fast LOCATION '/ssd'",
        "ALTER TABLE events DETACH PARTITION events_2023 CONCURRENTLY",
    ])
    func recognisesStatementsThatCannotRunInATransaction(sql: String) throws {
        let statement = try #require(SQLSplitter.split(sql, dialect: .postgres).first)
        #expect(SQLSplitter.requiresNoTransaction(statement))
    }

    @Test(arguments: [
        "CREATE INDEX i ON t (concurrently)",
        "CREATE INDEX \"concurrently\" ON t (a)",
        "SELECT 'CREATE INDEX CONCURRENTLY i ON t (a)'",
        "CREATE TABLE vacuum_log (id BIGINT)",
        "ALTER TYPE state RENAME VALUE 'a' TO 'b'",
        "ALTER TABLE t ADD COLUMN value INT",
        "REINDEX TABLE t",
        "DROP INDEX i",
        "/* VACUUM */ SELECT 1",
    ])
    func leavesOtherStatementsInTheTransaction(sql: String) throws {
        let statement = try #require(SQLSplitter.split(sql, dialect: .postgres).first)
        #expect(!SQLSplitter.requiresNoTransaction(statement))
    }
}
