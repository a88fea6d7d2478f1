import Foundation
import StrataMigrations
import Testing

/// MySQL stored programs written without `DELIMITER`, and `DELIMITER` chunks holding
/// several statements: the splitter ends statements where the server's grammar does.
@Suite struct SQLSplitterRoutineTests {
    private func texts(_ sql: String) throws -> [String] {
        try SQLSplitter.split(sql, dialect: .mysql).map(\.text)
    }

    /// The first words of each statement, enough to tell where the splitter cut.
    private func heads(_ sql: String, words: Int = 3) throws -> [String] {
        try texts(sql).map { $0.split(whereSeparator: \.isWhitespace).prefix(words).joined(separator: " ") }
    }

    static let procedure = """
        CREATE PROCEDURE fill(IN n INT) -- fills `counter`; END here is a comment
        BEGIN
          DECLARE i INT DEFAULT 0; # a hash comment; END IF;
          DECLARE `end` INT DEFAULT 0;
          DECLARE `begin` VARCHAR(20) DEFAULT 'BEGIN; END; END IF;';
          outer_loop: LOOP
            SET i = i + 1;
            IF i > n THEN
              LEAVE outer_loop;
            ELSEIF i = 2 THEN
              SET `end` = CASE WHEN n > 5 THEN 1 ELSE 2 END;
            ELSE
              CASE i
                WHEN 3 THEN INSERT INTO counter (label, v) VALUES ('three; END CASE', i);
                ELSE BEGIN
                  REPEAT SET `end` = `end` + 1; UNTIL `end` >= 3 END REPEAT;
                  WHILE `end` > 0 DO SET `end` = `end` - 1; END WHILE;
                END;
              END CASE;
            END IF;
            INSERT INTO counter (label, v) VALUES (IF(i > 1, "it's; END", 'first'), i);
          END LOOP outer_loop;
          inner: BEGIN
            SELECT COUNT(*) INTO i FROM counter WHERE label <> 'END';
          END inner;
        END;
        CALL fill(4);
        """

    @Test func aProcedureBodyWithoutDelimiterStaysWhole() throws {
        let statements = try SQLSplitter.split(Self.procedure, dialect: .mysql)
        #expect(statements.count == 2)
        #expect(statements.first?.text.hasPrefix("CREATE PROCEDURE fill") == true)
        #expect(statements.first?.text.hasSuffix("END inner;\nEND") == true)
        #expect(statements.map(\.line) == [1, 27])
        #expect(statements.last?.text == "CALL fill(4)")
    }

    @Test(arguments: [
        // Triggers: a block, a single statement, an IF without BEGIN, FOLLOWS.
        "CREATE TRIGGER t BEFORE INSERT ON x FOR EACH ROW BEGIN SET NEW.a = 1; SET NEW.end = 2; END",
        "CREATE TRIGGER t BEFORE INSERT ON x FOR EACH ROW SET NEW.a = 1",
        "CREATE TRIGGER t BEFORE UPDATE ON x FOR EACH ROW IF NEW.a < 0 THEN SET NEW.a = 0; END IF",
        "CREATE TRIGGER t2 AFTER INSERT ON x FOR EACH ROW FOLLOWS t BEGIN INSERT INTO log VALUES (NEW.a); END",
        // Events, definers, OR REPLACE, IF NOT EXISTS, a function.
        "CREATE EVENT e ON SCHEDULE EVERY 1 DAY STARTS '2026-01-01' ENDS '2027-01-01' DO BEGIN DELETE FROM x; DELETE FROM y; END",
        "CREATE EVENT e ON SCHEDULE AT CURRENT_TIMESTAMP + INTERVAL 1 HOUR DO IF 1 THEN DELETE FROM x; END IF",
        "ALTER EVENT e DO BEGIN DELETE FROM x; END",
        "CREATE DEFINER=`root`@`localhost` PROCEDURE p() BEGIN SELECT 1; END",
        "CREATE DEFINER = 'app'@'%' PROCEDURE p() SQL SECURITY INVOKER BEGIN SELECT 1; END",
        "CREATE DEFINER=CURRENT_USER() PROCEDURE p() BEGIN SELECT 1; END",
        "CREATE DEFINER=CURRENT_USER FUNCTION f() RETURNS INT BEGIN RETURN 1; END",
        "CREATE OR REPLACE FUNCTION f(a INT) RETURNS VARCHAR(10) CHARSET utf8mb4 DETERMINISTIC BEGIN DECLARE r VARCHAR(10); SET r = CASE a WHEN 1 THEN 'one' ELSE 'many' END; RETURN r; END",
        "CREATE PROCEDURE IF NOT EXISTS p() BEGIN IF 1 THEN SELECT 1; END IF; END",
        "CREATE AGGREGATE FUNCTION agg(x INT) RETURNS INT BEGIN DECLARE s INT DEFAULT 0; DECLARE CONTINUE HANDLER FOR NOT FOUND RETURN s; LOOP FETCH GROUP NEXT ROW; SET s = s + x; END LOOP; END",
        // Handlers, empty blocks, cursors, FOR UPDATE, MariaDB's FOR loop.
        "CREATE PROCEDURE p() BEGIN DECLARE CONTINUE HANDLER FOR SQLSTATE '23000' BEGIN SET @dup = 1; END; DECLARE EXIT HANDLER FOR SQLEXCEPTION, NOT FOUND IF 1 THEN SET @e = 1; END IF; INSERT INTO x VALUES (1); END",
        "CREATE PROCEDURE p() BEGIN END",
        "CREATE PROCEDURE p() BEGIN DECLARE c CURSOR FOR SELECT a FROM x FOR UPDATE; OPEN c; CLOSE c; END",
        "CREATE PROCEDURE p() BEGIN FOR i IN 1..3 DO INSERT INTO x VALUES (i); END FOR; END",
        "CREATE PROCEDURE p() lbl: WHILE 1 DO LEAVE lbl; END WHILE lbl",
        // MariaDB compound statements at the top level.
        "BEGIN NOT ATOMIC DECLARE i INT DEFAULT 0; SET i = 1; END",
        "IF (SELECT COUNT(*) FROM x) = 0 THEN INSERT INTO x VALUES (1); ELSE UPDATE x SET a = 2; END IF",
        "lbl: BEGIN NOT ATOMIC LEAVE lbl; END lbl",
        "FOR r IN (SELECT a FROM x) DO INSERT INTO y VALUES (r.a); END FOR",
        "CASE WHEN @a = 1 THEN SELECT 1; ELSE SELECT 2; END CASE",
        "REPEAT SET @i = @i + 1; UNTIL @i > 3 END REPEAT",
    ])
    func aStoredProgramIsOneStatement(sql: String) throws {
        #expect(try texts(sql + ";\nSELECT 'after';") == [sql, "SELECT 'after'"])
        // The same under DELIMITER, as the `mysql` client runs it.
        #expect(try texts("DELIMITER $$\n" + sql + "$$\nSELECT 'after'$$\nDELIMITER ;") == [sql, "SELECT 'after'"])
    }

    @Test func statementsThatOnlyLookLikeBlocksEndAtTheirSemicolon() throws {
        let sql = """
            BEGIN;
            INSERT INTO x VALUES (1);
            COMMIT;
            BEGIN WORK;
            SELECT IF(a, 1, 2) FROM x;
            DROP TABLE IF EXISTS t;
            SELECT REPEAT('x', 3);
            SELECT CASE WHEN 1 THEN 2 END;
            CREATE TABLE t (begin INT, end INT, `if` INT);
            SELECT begin, end FROM t FOR UPDATE;
            XA BEGIN 'x1';
            XA END 'x1';
            CREATE TABLE procedure_log (id INT);
            CREATE VIEW v AS SELECT 1;
            ROLLBACK
            """
        #expect(try heads(sql, words: 2) == [
            "BEGIN", "INSERT INTO", "COMMIT", "BEGIN WORK", "SELECT IF(a,", "DROP TABLE", "SELECT REPEAT('x',",
            "SELECT CASE", "CREATE TABLE", "SELECT begin,", "XA BEGIN", "XA END", "CREATE TABLE", "CREATE VIEW", "ROLLBACK",
        ])
    }

    @Test func aDelimiterChunkOfSeveralStatementsSplitsIntoThem() throws {
        let sql = """
            DELIMITER $$
            DROP PROCEDURE IF EXISTS p; -- a comment; with END
            CREATE PROCEDURE p()
            BEGIN
              SELECT 1;
            END;$$
            DELIMITER ;
            CALL p();
            """
        let statements = try SQLSplitter.split(sql, dialect: .mysql)
        #expect(statements.map(\.text) == ["DROP PROCEDURE IF EXISTS p", "CREATE PROCEDURE p()\nBEGIN\n  SELECT 1;\nEND", "CALL p()"])
        #expect(statements.map(\.line) == [2, 3, 8])
        #expect(statements.map(\.index) == [0, 1, 2])
    }

    @Test func aChunkTheGrammarCannotReadGoesWholeAsTheClientSendsIt() throws {
        // An END that closes nothing: the chunk is not cut on a guess.
        #expect(try texts("DELIMITER //\nSELECT 1; END; SELECT 2//\nDELIMITER ;") == ["SELECT 1; END; SELECT 2"])
        // A block still open where the chunk ends.
        #expect(try texts("DELIMITER //\nSELECT 0; CREATE PROCEDURE p() BEGIN SELECT 1;//\nDELIMITER ;")
            == ["SELECT 0; CREATE PROCEDURE p() BEGIN SELECT 1;"])
    }

    @Test func theLoaderWarnsAboutAChunkSentWhole() throws {
        let fixture = try MigrationFixture([
            "1_a.up.sql": "SELECT 0;\nDELIMITER //\nSELECT 1; END; SELECT 2//\nDELIMITER ;\nCREATE PROCEDURE p() BEGIN SELECT 1; END;",
            "1_a.down.sql": "DROP PROCEDURE p;",
        ])
        let set = try MigrationLoader.load(directory: fixture.root, dialect: .mysql)
        #expect(set.migrations.first?.up.statements.map(\.isUnsplitChunk) == [false, true, false])
        #expect(set.warnings.map(\.description) == [
            "1_a.up.sql:3: warning: the BEGIN … END blocks of this DELIMITER chunk do not balance, so it runs as one statement, as the mysql client sends it; if it holds several, give each its own delimiter",
        ])
    }

    @Test func mysqldumpRoutinesStillSplitAsBefore() throws {
        // mysqldump wraps trigger bodies in executable comments, under `DELIMITER ;;`.
        let sql = """
            DELIMITER ;;
            /*!50003 CREATE*/ /*!50017 DEFINER=`root`@`localhost`*/ /*!50003 TRIGGER `t` BEFORE INSERT ON `x` FOR EACH ROW BEGIN
              SET NEW.a = 1;
            END */;;
            CREATE DEFINER=`root`@`localhost` PROCEDURE `p`()
            BEGIN
              SELECT 1;
            END ;;
            DELIMITER ;
            """
        #expect(try heads(sql, words: 2) == ["/*!50003 CREATE*/", "CREATE DEFINER=`root`@`localhost`"])
    }

    @Test func postgresIsUnchangedByTheMySQLGrammar() throws {
        // `BEGIN;` is a transaction there too, and a routine's body is a dollar quote.
        let sql = "BEGIN;\nCREATE FUNCTION f() RETURNS int AS $$ BEGIN RETURN 1; END $$ LANGUAGE plpgsql;\nCOMMIT;"
        #expect(try SQLSplitter.split(sql, dialect: .postgres).count == 3)
    }
}
