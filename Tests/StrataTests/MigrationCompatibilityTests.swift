import Foundation
import StrataMigrations
import StrataSQL
import Testing

/// Migration folders that the database's own client (or golang-migrate) applies, run
/// through `strata migrate` as they are: names, session settings, routines, `DELIMITER`
/// chunks, and going back down after a failure.
@Suite("migration folders from other tools")
struct MigrationCompatibilityTests {
    private func migrate(_ args: [String], url: DatabaseURL, dir: URL) async throws -> StrataCLI.Result {
        try await StrataCLI.run(["migrate"] + args + ["--migrations", dir.path],
                                environment: ["DATABASE_URL": url.urlString])
    }

    // MARK: Names

    @Test(arguments: Backend.allCases)
    func golangMigrateNamesWithCapitalsAndDotsApply(_ backend: Backend) async throws {
        let fixture = try MigrationFixture([
            "0001_Initial_Schema.up.sql": PortableSQL.createTable("a"),
            "0001_Initial_Schema.down.sql": PortableSQL.dropTable("a"),
            "0002_add.users.table.up.sql": PortableSQL.createTable("users"),
            "0002_add.users.table.down.sql": PortableSQL.dropTable("users"),
        ])
        try await withFreshDatabase(backend) { db, url in
            var r = try await migrate(["up"], url: url, dir: fixture.root)
            #expect(r.status == 0, "\(r.stderr)")
            #expect(r.stdout.contains("0001_Initial_Schema") && r.stdout.contains("0002_add.users.table"), "\(r.stdout)")
            let tables = try await db.tableNames()
            #expect(tables.contains("a") && tables.contains("users"), "\(tables)")
            r = try await migrate(["status", "--json"], url: url, dir: fixture.root)
            let entries = r.json?["migrations"] as? [[String: Any]]
            #expect(entries?.map { $0["name"] as? String } == ["Initial_Schema", "add.users.table"], "\(r.stdout)")
            #expect(entries?.map { $0["state"] as? String } == ["applied", "applied"], "\(r.stdout)")
            r = try await migrate(["down", "--all"], url: url, dir: fixture.root)
            #expect(r.status == 0, "\(r.stderr)")
            #expect(try await !db.tableNames().contains("users"))
        }
    }

    // MARK: Stored programs without DELIMITER (MariaDB)

    private static let routinesUp = """
        CREATE TABLE counter (id INT AUTO_INCREMENT PRIMARY KEY, label VARCHAR(40) NOT NULL, v INT NOT NULL);
        CREATE TABLE x (a INT NOT NULL, note VARCHAR(40) NULL, `end` INT NULL);

        # Written without DELIMITER, as a driver with multi-statements sends it; the body
        # holds ';' and END in every form the grammar allows.
        CREATE PROCEDURE fill(IN n INT) -- fills counter; END here is a comment
        BEGIN
          DECLARE i INT DEFAULT 0; # a hash comment; END IF;
          DECLARE `end` INT DEFAULT 0;
          DECLARE `begin` VARCHAR(20) DEFAULT 'BEGIN; END;';
          outer_loop: LOOP
            SET i = i + 1;
            IF i > n THEN
              LEAVE outer_loop;
            END IF;
            CASE
              WHEN i = 1 THEN INSERT INTO counter (label, v) VALUES (`begin`, i);
              WHEN i = 2 THEN INSERT INTO counter (label, v) VALUES ('two; END CASE', CASE WHEN n > 5 THEN 0 ELSE i END);
              ELSE inner_block: BEGIN
                SET `end` = 0;
                REPEAT SET `end` = `end` + 1; UNTIL `end` >= i END REPEAT;
                WHILE `end` > 1 DO SET `end` = `end` - 1; END WHILE;
                INSERT INTO counter (label, v) VALUES (IF(`end` = 1, "it's; END", 'other'), i);
              END inner_block;
            END CASE;
          END LOOP outer_loop;
        END;

        CREATE TRIGGER x_defaults BEFORE INSERT ON x FOR EACH ROW
        BEGIN
          IF NEW.note IS NULL THEN
            SET NEW.note = 'filled; by END trigger';
          END IF;
          SET NEW.`end` = NEW.a * 2;
        END;
        CREATE TRIGGER x_after AFTER INSERT ON x FOR EACH ROW INSERT INTO counter (label, v) VALUES ('x', NEW.a);

        CREATE DEFINER=CURRENT_USER FUNCTION label_of(v INT) RETURNS VARCHAR(10) DETERMINISTIC
        BEGIN
          RETURN CASE WHEN v < 0 THEN 'neg' WHEN v = 0 THEN 'zero' ELSE 'pos' END;
        END;

        CREATE EVENT purge_counter ON SCHEDULE EVERY 1 DAY DO BEGIN DELETE FROM counter WHERE v < 0; END;

        BEGIN NOT ATOMIC
          DECLARE k INT DEFAULT 0;
          WHILE k < 2 DO SET k = k + 1; INSERT INTO counter (label, v) VALUES ('anon', 100 + k); END WHILE;
        END;
        """

    private static let routinesDown = """
        DROP EVENT purge_counter;
        DROP FUNCTION label_of;
        DROP TRIGGER x_after;
        DROP TRIGGER x_defaults;
        DROP PROCEDURE fill;
        DROP TABLE x;
        DROP TABLE counter;
        """

    @Test func storedProgramsWithoutDelimiterApplyAndWork() async throws {
        let fixture = try MigrationFixture([
            "0001_routines.up.sql": Self.routinesUp, "0001_routines.down.sql": Self.routinesDown,
        ])
        try await withFreshDatabase(.mysql) { db, url in
            var r = try await migrate(["up"], url: url, dir: fixture.root)
            #expect(r.status == 0, "\(r.stderr)")
            let total = try await db.withConnection {
                try $0.queryFirst("SELECT statements_total AS n FROM strata_schema_history WHERE version = 1")?.decode("n", as: Int64.self)
            }
            // Two tables, the procedure, two triggers, the function, the event, the block.
            #expect(total == 8)
            let rows = try await db.withConnection { conn -> [String] in
                try conn.executeUnprepared("CALL fill(4)")
                try conn.executeUnprepared("INSERT INTO x (a) VALUES (3)")
                return try conn.query("SELECT CONCAT(label, '=', v) AS r FROM counter ORDER BY id").map { try $0.decode("r", as: String.self) }
            }
            #expect(rows == ["anon=101", "anon=102", "BEGIN; END;=1", "two; END CASE=2", "it's; END=3", "it's; END=4", "x=3"])
            let x = try await db.withConnection { conn in
                try conn.queryFirst("SELECT CONCAT(note, '/', `end`, '/', label_of(-1), label_of(0), label_of(5)) AS r FROM x")?.decode("r", as: String.self)
            }
            #expect(x == "filled; by END trigger/6/negzeropos")
            r = try await migrate(["down", "--all"], url: url, dir: fixture.root)
            #expect(r.status == 0, "\(r.stderr)")
            #expect(try await !db.tableNames().contains("counter"))
        }
    }

    // MARK: DELIMITER chunks of several statements (MariaDB)

    @Test func aDelimiterChunkOfSeveralStatementsRunsStatementByStatement() async throws {
        let fixture = try MigrationFixture([
            "0001_greet.up.sql": """
                DELIMITER $$
                DROP PROCEDURE IF EXISTS greet; -- as many projects start a chunk
                CREATE PROCEDURE greet(IN who VARCHAR(20), OUT msg VARCHAR(40))
                BEGIN
                  SET msg = CONCAT('hello; ', who);
                END;$$
                DROP FUNCTION IF EXISTS twice$$
                CREATE FUNCTION twice(n INT) RETURNS INT DETERMINISTIC
                BEGIN
                  RETURN n * 2;
                END$$
                DELIMITER ;
                """,
            "0001_greet.down.sql": "DROP FUNCTION twice;\nDROP PROCEDURE greet;",
        ])
        try await withFreshDatabase(.mysql) { db, url in
            var r = try await migrate(["plan"], url: url, dir: fixture.root)
            #expect(r.stdout.contains("-- line 2") && r.stdout.contains("-- line 3") && r.stdout.contains("-- line 8"), "\(r.stdout)")
            r = try await migrate(["up"], url: url, dir: fixture.root)
            #expect(r.status == 0, "\(r.stderr)")
            let greeting = try await db.withConnection { conn in
                try conn.executeUnprepared("CALL greet('you', @m)")
                return try conn.queryFirst("SELECT CONCAT(@m, ' ', twice(21)) AS g")?.decode("g", as: String.self)
            }
            #expect(greeting == "hello; you 42")
            r = try await migrate(["status", "--json"], url: url, dir: fixture.root)
            let entry = (r.json?["migrations"] as? [[String: Any]])?.first
            #expect(entry?["state"] as? String == "applied", "\(r.stdout)")
            let counts = try await db.withConnection { conn in
                try conn.queryFirst("SELECT CONCAT(statements_applied, '/', statements_total) AS c FROM strata_schema_history")?.decode("c", as: String.self)
            }
            #expect(counts == "4/4", "each statement of the chunk is known and recorded")

            // A chunk whose second statement fails names that statement's line, and the
            // first one stays recorded as applied.
            try fixture.write("0002_bad.up.sql", """
                DELIMITER //
                CREATE TABLE t1 (a INT);
                CREATE TABLE t1 (a INT);//
                DELIMITER ;
                """)
            try fixture.write("0002_bad.down.sql", "DROP TABLE t1;")
            r = try await migrate(["up"], url: url, dir: fixture.root)
            #expect(r.status == 1)
            #expect(r.stderr.contains("0002_bad.up.sql:3:") && r.stderr.contains("statement 2 of 2"), "\(r.stderr)")
            r = try await migrate(["status", "--json"], url: url, dir: fixture.root)
            let bad = (r.json?["migrations"] as? [[String: Any]])?.last
            #expect(bad?["state"] as? String == "failed", "\(r.stdout)")
            #expect(bad?["statements_applied"] as? Int == 1, "\(r.stdout)")

            // A chunk the grammar cannot cut goes whole, and the history says so.
            r = try await migrate(["repair", "2"], url: url, dir: fixture.root)
            #expect(r.status == 0, "\(r.stderr)")
            r = try await migrate(["down"], url: url, dir: fixture.root)
            #expect(r.status == 0, "\(r.stderr)")
            try fixture.write("0002_bad.up.sql", """
                DELIMITER //
                CREATE TABLE t2 (a INT); END; CREATE TABLE t3 (a INT);//
                DELIMITER ;
                """)
            try fixture.write("0002_bad.down.sql", "DROP TABLE t2;")
            r = try await migrate(["up"], url: url, dir: fixture.root)
            #expect(r.status == 1)
            #expect(r.stderr.contains("0002_bad.up.sql:2: warning: the BEGIN … END blocks of this DELIMITER chunk do not balance"), "\(r.stderr)")
            r = try await migrate(["status", "--json"], url: url, dir: fixture.root)
            let whole = (r.json?["migrations"] as? [[String: Any]])?.last
            #expect((whole?["error"] as? String)?.contains("a DELIMITER chunk sent whole") == true, "\(r.stdout)")
        }
    }

    // MARK: Going down after a failure

    private func userTables(_ db: Database) async throws -> [String] {
        try await db.tableNames().filter { !$0.hasPrefix("strata_") }
    }

    private func states(_ url: DatabaseURL, _ dir: URL) async throws -> [String] {
        let r = try await migrate(["status", "--json"], url: url, dir: dir)
        return (r.json?["migrations"] as? [[String: Any]])?.compactMap { $0["state"] as? String } ?? []
    }

    @Test(arguments: Backend.allCases)
    func downPassesAMigrationThatFailedAtItsFirstStatement(_ backend: Backend) async throws {
        let fixture = try MigrationFixture([
            "0001_a.up.sql": PortableSQL.createTable("a"), "0001_a.down.sql": PortableSQL.dropTable("a"),
            "0002_b.up.sql": PortableSQL.createTable("b"), "0002_b.down.sql": PortableSQL.dropTable("b"),
            // Fails at once: `a` exists.
            "0003_c.up.sql": PortableSQL.createTable("a") + ";\n" + PortableSQL.createTable("c") + ";",
            "0003_c.down.sql": PortableSQL.dropTable("c"),
        ])
        try await withFreshDatabase(backend) { db, url in
            var r = try await migrate(["up"], url: url, dir: fixture.root)
            #expect(r.status == 1 && r.stderr.contains("0003_c.up.sql:1:"), "\(r.stderr)")
            // MySQL records the failure; PostgreSQL rolled it back with its transaction.
            #expect(try await states(url, fixture.root) == ["applied", "applied", backend == .mysql ? "failed" : "pending"])

            r = try await migrate(["down", "--all"], url: url, dir: fixture.root)
            #expect(r.status == 0, "\(r.stderr)")
            #expect(r.stdout.contains("forgot 3_c") == (backend == .mysql), "\(r.stdout)")
            #expect(try await userTables(db).isEmpty)
            #expect(try await states(url, fixture.root) == ["pending", "pending", "pending"])
            let rows = try await db.withConnection {
                try $0.queryFirst("SELECT COUNT(*) AS n FROM strata_schema_history")?.decode("n", as: Int64.self)
            }
            #expect(rows == 0, "the failed record went with the down")

            // Fixed, the three go up in order.
            try fixture.write("0003_c.up.sql", PortableSQL.createTable("c"))
            r = try await migrate(["up"], url: url, dir: fixture.root)
            #expect(r.status == 0, "\(r.stderr)")
            let order = r.stdout.split(separator: "\n").filter { $0.hasPrefix("up ") }.map { $0.split(separator: " ").dropFirst().first.map(String.init) ?? "" }
            #expect(order == ["0001_a", "0002_b", "0003_c"], "\(r.stdout)")
        }
    }

    @Test(arguments: Backend.allCases)
    func downStillRefusesAMigrationThatAppliedSomeStatements(_ backend: Backend) async throws {
        let fixture = try MigrationFixture([
            "0001_a.up.sql": PortableSQL.createTable("a"), "0001_a.down.sql": PortableSQL.dropTable("a"),
            "0002_b.up.sql": PortableSQL.createTable("b"), "0002_b.down.sql": PortableSQL.dropTable("b"),
            // Statement 1 lands, statement 2 fails: `a` exists.
            "0003_c.up.sql": PortableSQL.createTable("c") + ";\n" + PortableSQL.createTable("a") + ";",
            "0003_c.down.sql": PortableSQL.dropTable("c"),
        ])
        try await withFreshDatabase(backend) { db, url in
            var r = try await migrate(["up"], url: url, dir: fixture.root)
            #expect(r.status == 1 && r.stderr.contains("0003_c.up.sql:2:"), "\(r.stderr)")
            r = try await migrate(["down", "--all"], url: url, dir: fixture.root)
            switch backend {
            case .mysql:
                #expect(r.status == 1, "\(r.stdout)")
                #expect(r.stderr.contains("migration 3_c is partly applied (failed at statement 2 of 2"), "\(r.stderr)")
                #expect(try await userTables(db) == ["a", "b", "c"], "nothing was reverted")
            case .postgres:
                // The failed migration left nothing, not even a record.
                #expect(r.status == 0, "\(r.stderr)")
                #expect(try await userTables(db).isEmpty)
            }
        }
    }

    // MARK: The server's session settings (MariaDB)

    private static let zeroDateTable =
        "CREATE TABLE legacy (id INT PRIMARY KEY, created DATETIME NOT NULL DEFAULT '0000-00-00 00:00:00')"

    @Test func aMigrationRunsUnderTheServersSessionSettingsNotTheServicesStrictOnes() async throws {
        let fixture = try MigrationFixture([
            "0001_legacy.up.sql": Self.zeroDateTable + """
                ;
                CREATE TABLE seen AS SELECT
                  @@SESSION.sql_mode = @@GLOBAL.sql_mode AS same_mode,
                  @@SESSION.time_zone = @@GLOBAL.time_zone AS same_zone,
                  @@SESSION.tx_isolation = @@GLOBAL.tx_isolation AS same_isolation,
                  @@SESSION.character_set_connection AS charset,
                  @@SESSION.collation_connection = (SELECT DEFAULT_COLLATE_NAME FROM information_schema.CHARACTER_SETS
                                                    WHERE CHARACTER_SET_NAME = 'utf8mb4') AS default_collation;
                INSERT INTO legacy (id) VALUES (1);
                SET SESSION foreign_key_checks = 0;
                """,
            "0001_legacy.down.sql": "DROP TABLE seen;\nDROP TABLE legacy;",
        ])
        try await withFreshDatabase(.mysql, maxConnections: 1) { db, url in
            // The test can fail: the services' strict session refuses the table.
            await #expect(throws: DatabaseError.self) {
                try await db.withConnection { try $0.executeUnprepared(Self.zeroDateTable) }
            }
            var r = try await migrate(["up"], url: url, dir: fixture.root)
            #expect(r.status == 0, "\(r.stderr)")
            let seen = try await db.withConnection { conn in
                try conn.queryFirst("""
                    SELECT CONCAT(same_mode, same_zone, same_isolation, '/', charset, '/', default_collation) AS s FROM seen
                    """)?.decode("s", as: String.self)
            }
            #expect(seen == "111/utf8mb4/1")
            let created = try await db.withConnection {
                try $0.queryFirst("SELECT CAST(created AS CHAR) AS c FROM legacy")?.decode("c", as: String.self)
            }
            #expect(created == "0000-00-00 00:00:00")
            r = try await migrate(["status", "--json"], url: url, dir: fixture.root)
            #expect((r.json?["migrations"] as? [[String: Any]])?.first?["state"] as? String == "applied", "\(r.stdout)")

            // Through the library, on a pool of one connection shared with the services:
            // after the run, the pool's session is the services' strict one again, and
            // what the migration itself set (foreign_key_checks) did not stay.
            r = try await migrate(["down"], url: url, dir: fixture.root)
            #expect(r.status == 0, "\(r.stderr)")
            try await fixture.migrator(db, backend: .mysql).run(.up())
            let session = try await db.withConnection { conn in
                try conn.queryFirst("""
                    SELECT CONCAT(@@SESSION.sql_mode LIKE '%STRICT_ALL_TABLES%', @@SESSION.foreign_key_checks, '/',
                                  @@SESSION.tx_isolation, '/', @@SESSION.collation_connection) AS s
                    """)?.decode("s", as: String.self)
            }
            #expect(session == "1ON/READ-COMMITTED/utf8mb4_unicode_ci")
        }
    }
}
