import Foundation
@testable import StrataMigrations
import Testing

/// One rule's positive and negative case: `bad` must raise `code` at `line`, `good` (the
/// safer way the hint names, or a near miss) must not raise it.
struct LintCase: Sendable, CustomTestStringConvertible {
    var code: String
    var dialect: SQLSplitDialect
    var bad: String
    var good: String
    var line = 1

    var testDescription: String { "\(code) \(dialect.rawValue)" }
}

/// `strata migrate lint`'s rules, judged on a migration 0002 over the tables that a
/// migration 0001 (outside the linted set) created.
@Suite("migrate lint")
struct MigrationLintTests {
    static let base: [SQLSplitDialect: String] = [
        .postgres: """
            CREATE TABLE accounts (id bigint PRIMARY KEY, email text, plan varchar(10), score int);
            CREATE INDEX accounts_email ON accounts (email);
            CREATE TABLE owners (id bigint);
            CREATE UNIQUE INDEX owners_id ON owners (id);
            """,
        .mysql: """
            CREATE TABLE accounts (
                id BIGINT PRIMARY KEY, email VARCHAR(191), plan VARCHAR(10) NOT NULL, score INT,
                state ENUM('a', 'b', 'c') NOT NULL, flags SET('x', 'y')
            );
            CREATE TABLE owners (id BIGINT);
            """,
    ]

    static func values(_ n: Int) -> String { (1...n).map { "'v\($0)'" }.joined(separator: ", ") }

    static let cases: [LintCase] = [
        // Destructive, both dialects.
        LintCase(code: "DS101", dialect: .postgres, bad: "DROP SCHEMA billing CASCADE;", good: "CREATE SCHEMA billing;"),
        LintCase(code: "DS101", dialect: .mysql, bad: "DROP DATABASE IF EXISTS billing;", good: "CREATE DATABASE billing;"),
        LintCase(code: "DS102", dialect: .postgres, bad: "DROP TABLE IF EXISTS accounts CASCADE;",
                 good: "CREATE TABLE scratch (id bigint);\nDROP TABLE scratch;"),
        LintCase(code: "DS102", dialect: .mysql, bad: "DROP TABLE `accounts`;",
                 good: "CREATE TABLE scratch (id BIGINT);\nDROP TABLE scratch;"),
        LintCase(code: "DS103", dialect: .postgres, bad: "ALTER TABLE accounts DROP COLUMN email;",
                 good: "ALTER TABLE accounts DROP CONSTRAINT accounts_pkey;"),
        LintCase(code: "DS103", dialect: .mysql, bad: "ALTER TABLE accounts DROP email;",
                 good: "ALTER TABLE accounts DROP INDEX ix_email;"),
        LintCase(code: "ST101", dialect: .postgres, bad: "TRUNCATE TABLE ONLY accounts;", good: "DELETE FROM accounts WHERE id < 0;"),
        LintCase(code: "ST101", dialect: .mysql, bad: "TRUNCATE accounts;", good: "DELETE FROM accounts WHERE id < 0;"),
        // Backward-incompatible.
        LintCase(code: "BC101", dialect: .postgres, bad: "ALTER TABLE accounts RENAME TO users;",
                 good: "ALTER TABLE accounts RENAME CONSTRAINT accounts_pkey TO accounts_id;"),
        LintCase(code: "BC101", dialect: .mysql, bad: "RENAME TABLE accounts TO users;",
                 good: "CREATE TABLE scratch (id BIGINT);\nRENAME TABLE scratch TO scratch2;"),
        LintCase(code: "BC102", dialect: .postgres, bad: "ALTER TABLE accounts RENAME COLUMN email TO mail;",
                 good: "ALTER TABLE accounts ADD COLUMN mail text;"),
        LintCase(code: "BC102", dialect: .mysql, bad: "ALTER TABLE accounts CHANGE email mail VARCHAR(191);",
                 good: "ALTER TABLE accounts CHANGE COLUMN email email VARCHAR(255);"),
        // Might fail on existing rows.
        LintCase(code: "MF101", dialect: .postgres, bad: "CREATE UNIQUE INDEX CONCURRENTLY uq_email ON accounts (email);",
                 good: "CREATE INDEX CONCURRENTLY ix_email ON accounts (email);"),
        LintCase(code: "MF101", dialect: .mysql, bad: "ALTER TABLE accounts ADD UNIQUE KEY uq_email (email);",
                 good: "ALTER TABLE accounts ADD INDEX ix_email (email);"),
        LintCase(code: "MF103", dialect: .postgres, bad: "ALTER TABLE accounts ADD COLUMN tier int NOT NULL;",
                 good: "ALTER TABLE accounts ADD COLUMN tier int NOT NULL DEFAULT 0;"),
        LintCase(code: "MF104", dialect: .postgres, bad: "ALTER TABLE accounts ALTER COLUMN score SET NOT NULL;",
                 good: """
                     ALTER TABLE accounts ADD CONSTRAINT score_nn CHECK (score IS NOT NULL) NOT VALID;
                     ALTER TABLE accounts VALIDATE CONSTRAINT score_nn;
                     ALTER TABLE accounts ALTER COLUMN score SET NOT NULL;
                     """),
        LintCase(code: "MF104", dialect: .mysql, bad: "ALTER TABLE accounts MODIFY score INT NOT NULL;",
                 good: "ALTER TABLE accounts MODIFY plan VARCHAR(20) NOT NULL;"),
        // PostgreSQL locks.
        LintCase(code: "PG101", dialect: .postgres, bad: "CREATE INDEX ix_plan ON accounts USING btree (plan);",
                 good: "CREATE INDEX CONCURRENTLY IF NOT EXISTS ix_plan ON accounts (plan);"),
        LintCase(code: "PG102", dialect: .postgres, bad: "DROP INDEX IF EXISTS accounts_email;",
                 good: "DROP INDEX CONCURRENTLY accounts_email;"),
        LintCase(code: "PG104", dialect: .postgres, bad: "ALTER TABLE owners ADD CONSTRAINT owners_pkey PRIMARY KEY (id);",
                 good: "ALTER TABLE owners ADD CONSTRAINT owners_pkey PRIMARY KEY USING INDEX owners_id;"),
        LintCase(code: "PG105", dialect: .postgres, bad: "ALTER TABLE accounts ADD CONSTRAINT uq_email UNIQUE (email);",
                 good: "ALTER TABLE accounts ADD CONSTRAINT uq_email UNIQUE USING INDEX uq_email_index;"),
        LintCase(code: "PG301", dialect: .postgres, bad: "ALTER TABLE accounts ALTER COLUMN score TYPE bigint;",
                 good: "ALTER TABLE accounts ALTER COLUMN plan SET DATA TYPE varchar(20);"),
        LintCase(code: "PG302", dialect: .postgres, bad: "ALTER TABLE accounts ADD COLUMN token uuid DEFAULT gen_random_uuid();",
                 good: "ALTER TABLE accounts ADD COLUMN seen_at timestamptz NOT NULL DEFAULT now();"),
        LintCase(code: "PG303", dialect: .postgres, bad: "ALTER TABLE accounts ALTER score SET NOT NULL;",
                 good: """
                     ALTER TABLE accounts ADD CONSTRAINT score_nn CHECK (score IS NOT NULL) NOT VALID;
                     ALTER TABLE accounts VALIDATE CONSTRAINT score_nn;
                     ALTER TABLE accounts ALTER score SET NOT NULL;
                     """),
        LintCase(code: "PG304", dialect: .postgres,
                 bad: "ALTER TABLE owners ADD CONSTRAINT owners_pkey PRIMARY KEY USING INDEX owners_id;",
                 good: """
                     ALTER TABLE owners ADD CONSTRAINT id_nn CHECK (id IS NOT NULL) NOT VALID;
                     ALTER TABLE owners VALIDATE CONSTRAINT id_nn;
                     ALTER TABLE owners ADD CONSTRAINT owners_pkey PRIMARY KEY USING INDEX owners_id;
                     """),
        LintCase(code: "PG305", dialect: .postgres, bad: "ALTER TABLE accounts ADD CONSTRAINT ck_score CHECK (score >= 0);",
                 good: "ALTER TABLE accounts ADD CONSTRAINT ck_score CHECK (score >= 0) NOT VALID;"),
        // MySQL.
        LintCase(code: "MY101", dialect: .mysql, bad: "ALTER TABLE accounts ADD COLUMN tier INT NOT NULL;",
                 good: "ALTER TABLE accounts ADD COLUMN tier INT NOT NULL DEFAULT 0;"),
        LintCase(code: "MY110", dialect: .mysql, bad: "ALTER TABLE accounts MODIFY state ENUM('a', 'b') NOT NULL;",
                 good: "ALTER TABLE accounts MODIFY state ENUM('a', 'b', 'c', 'd') NOT NULL;"),
        LintCase(code: "MY111", dialect: .mysql, bad: "ALTER TABLE accounts MODIFY state ENUM('b', 'a', 'c') NOT NULL;",
                 good: "ALTER TABLE accounts MODIFY state ENUM('a', 'b', 'c') NOT NULL;"),
        LintCase(code: "MY112", dialect: .mysql, bad: "ALTER TABLE accounts MODIFY state ENUM('a', 'z', 'b', 'c') NOT NULL;",
                 good: "ALTER TABLE accounts MODIFY state ENUM('a', 'b', 'c', 'z') NOT NULL;"),
        LintCase(code: "MY113", dialect: .mysql,
                 bad: "ALTER TABLE accounts MODIFY state ENUM('a', 'b', 'c', \(values(253))) NOT NULL;",
                 good: "ALTER TABLE accounts MODIFY state ENUM('a', 'b', 'c', \(values(252))) NOT NULL;"),
        LintCase(code: "MY120", dialect: .mysql, bad: "ALTER TABLE accounts MODIFY flags SET('x');",
                 good: "ALTER TABLE accounts MODIFY flags SET('x', 'y', 'z');"),
        LintCase(code: "MY121", dialect: .mysql, bad: "ALTER TABLE accounts MODIFY flags SET('y', 'x');",
                 good: "ALTER TABLE accounts MODIFY flags SET('x', 'y');"),
        LintCase(code: "MY122", dialect: .mysql, bad: "ALTER TABLE accounts MODIFY flags SET('w', 'x', 'y');",
                 good: "ALTER TABLE accounts MODIFY flags SET('x', 'y', 'w');"),
        LintCase(code: "MY123", dialect: .mysql, bad: "ALTER TABLE accounts MODIFY flags SET('x', 'y', \(values(7)));",
                 good: "ALTER TABLE accounts MODIFY flags SET('x', 'y', \(values(6)));"),
        // Strata's own.
        LintCase(code: "ST201", dialect: .mysql,
                 bad: "ALTER TABLE accounts ADD COLUMN a1 INT;\nALTER TABLE accounts ADD COLUMN a2 INT;",
                 good: "CREATE TABLE t1 (id BIGINT);\nCREATE INDEX ix_t1 ON t1 (id);"),
        LintCase(code: "ST201", dialect: .postgres,
                 bad: "CREATE INDEX CONCURRENTLY ix_plan ON accounts (plan);\nALTER TABLE accounts ADD COLUMN note text;",
                 good: "SET lock_timeout = '2s';\nCREATE INDEX CONCURRENTLY ix_plan ON accounts (plan);"),
        LintCase(code: "ST301", dialect: .postgres,
                 bad: "ALTER TABLE accounts ADD CONSTRAINT fk_owner FOREIGN KEY (id) REFERENCES owners (id);",
                 good: "ALTER TABLE accounts ADD CONSTRAINT fk_owner FOREIGN KEY (id) REFERENCES owners (id) NOT VALID;"),
        LintCase(code: "ST302", dialect: .postgres, bad: "ALTER TABLE accounts ADD COLUMN note text;",
                 good: "SET lock_timeout = '2s';\nALTER TABLE accounts ADD COLUMN note text;"),
    ]

    /// Lints `up` as migration 0002 of one dialect, after the base 0001.
    static func lint(_ up: String, dialect: SQLSplitDialect, scope: LintScope = .since(MigrationVersion("2")!)) throws -> LintReport {
        let fixture = try MigrationFixture([
            "\(dialect.rawValue)/0001_base.up.sql": base[dialect]!,
            "\(dialect.rawValue)/0001_base.down.sql": "DROP TABLE owners;\nDROP TABLE accounts;",
            "\(dialect.rawValue)/0002_change.up.sql": up,
            "\(dialect.rawValue)/0002_change.down.sql": "-- strata:irreversible: the test only lints the up",
        ])
        return try MigrationLinter.lint(directory: fixture.root, scope: scope)
    }

    @Test(arguments: cases)
    func ruleFiresOnTheRiskyFormOnly(_ c: LintCase) throws {
        let bad = try Self.lint(c.bad, dialect: c.dialect)
        let hits = bad.open.filter { $0.rule.code == c.code }
        #expect(hits.count >= 1, "\(c.code) on \(c.bad): \(bad.findings)")
        #expect(hits.first?.line == c.line && hits.first?.file == "\(c.dialect.rawValue)/0002_change.up.sql", "\(hits)")
        #expect(hits.first.map { $0.passes(severity: LintRule.named(c.code)!.severity) } == true)
        #expect(bad.passes == !hits.contains { $0.severity == .error }, "an open error fails the lint")
        let good = try Self.lint(c.good, dialect: c.dialect)
        #expect(!good.findings.contains { $0.rule.code == c.code }, "\(c.code) on \(c.good): \(good.findings)")
    }

    @Test(arguments: cases)
    func aWaiverWithAReasonAcceptsTheFinding(_ c: LintCase) throws {
        let statements = c.bad.split(separator: "\n", omittingEmptySubsequences: false)
        let waived = (statements.prefix(c.line - 1) + ["-- strata:lint-ignore \(c.code) checked with the team on 2026-12-03"]
                      + statements.dropFirst(c.line - 1)).joined(separator: "\n")
        let report = try Self.lint(waived, dialect: c.dialect)
        let hits = report.findings.filter { $0.rule.code == c.code }
        #expect(!hits.isEmpty && hits.allSatisfy { $0.waiver?.reason == "checked with the team on 2026-12-03" }, "\(report.findings)")
        #expect(!report.findings.contains { $0.rule.code == "ST404" || $0.rule.code == "ST405" })
    }

    @Test(arguments: SQLSplitDialect.allCases)
    func aTableCreatedInTheLintedSetIsNew(_ dialect: SQLSplitDialect) throws {
        let create = "CREATE TABLE ledger (id BIGINT, note TEXT);"
        let change = "CREATE UNIQUE INDEX uq_ledger ON ledger (id);\nALTER TABLE ledger ADD COLUMN kind INT NOT NULL;\nALTER TABLE ledger DROP COLUMN note;"
        let fixture = try MigrationFixture([
            "\(dialect.rawValue)/0001_a.up.sql": "CREATE TABLE other (id BIGINT);", "\(dialect.rawValue)/0001_a.down.sql": "DROP TABLE other;",
            "\(dialect.rawValue)/0002_b.up.sql": create, "\(dialect.rawValue)/0002_b.down.sql": "DROP TABLE ledger;",
            "\(dialect.rawValue)/0003_c.up.sql": change, "\(dialect.rawValue)/0003_c.down.sql": "DROP INDEX uq_ledger;",
        ])
        let linted = try MigrationLinter.lint(directory: fixture.root, scope: .since(MigrationVersion("2")!))
        #expect(linted.findings.isEmpty, "ledger is new in 0002…0003: \(linted.findings)")
        // Judged alone, 0003 changes a table an earlier (applied) migration created.
        let alone = try MigrationLinter.lint(directory: fixture.root, scope: .since(MigrationVersion("3")!))
        let codes = Set(alone.open.map(\.rule.code))
        let expected: Set<String> = dialect == .postgres ? ["MF101", "PG101", "MF103", "DS103", "ST302"] : ["MF101", "MY101", "DS103", "ST201"]
        #expect(codes == expected, "\(alone.findings)")
        // In the same file as its CREATE TABLE, nothing is existing either.
        let sameFile = try Self.lint(create + "\n" + change, dialect: dialect)
        #expect(sameFile.findings.isEmpty, "\(sameFile.findings)")
    }

    @Test(arguments: SQLSplitDialect.allCases)
    func structuralRules(_ dialect: SQLSplitDialect) throws {
        let d = dialect.rawValue
        let other = dialect == .postgres ? "mysql" : "postgres"
        let fixture = try MigrationFixture([
            "\(d)/0001_a.up.sql": "CREATE TABLE a (id BIGINT);",                  // ST401: no down
            "\(d)/0002_b.up.sql": "CREATE TABLE b (id BIGINT);",
            "\(d)/0002_b.down.sql": "-- nothing to undo\n",                      // ST402: empty, unmarked
            "\(d)/0003_c.up.sql": "-- strata:irreversible the data is gone\nCREATE TABLE c (id BIGINT);",
            "\(d)/0004_d.up.sql": "CREATE TABLE d (id BIGINT);",
            "\(d)/0004_d.down.sql": "-- strata:irreversible seeded rows stay\n",  // marked: fine
            "\(other)/0001_a.up.sql": "CREATE TABLE a (id BIGINT);", "\(other)/0001_a.down.sql": "DROP TABLE a;",
            "\(other)/0002_b.up.sql": "CREATE TABLE b (id BIGINT);", "\(other)/0002_b.down.sql": "DROP TABLE b;",
            "\(other)/0003_c.up.sql": "CREATE TABLE c (id BIGINT);", "\(other)/0003_c.down.sql": "DROP TABLE c;",
            // 0004 missing in the other folder: ST403
        ])
        let report = try MigrationLinter.lint(directory: fixture.root, dialects: [dialect])
        let found = report.findings.map { "\($0.rule.code) \($0.file)" }.sorted()
        #expect(found == ["ST401 \(d)/0001_a.up.sql", "ST402 \(d)/0002_b.down.sql"].sorted(), "\(report.findings)")
        let both = try MigrationLinter.lint(directory: fixture.root)
        #expect(both.findings.filter { $0.rule.code == "ST403" }.map(\.file) == ["\(d)/0004_d.up.sql"], "\(both.findings)")
        #expect(!both.passes)
        // Waived anywhere in the file, since these concern the whole file.
        try fixture.write("\(d)/0001_a.up.sql", "CREATE TABLE a (id BIGINT);\n-- strata:lint-ignore ST401 the down ships in 0005")
        try fixture.write("\(d)/0004_d.up.sql", "-- strata:lint-ignore ST403 the other dialect gets it in the next release\nCREATE TABLE d (id BIGINT);")
        let waived = try MigrationLinter.lint(directory: fixture.root)
        let fileLevel = waived.findings.filter { ["ST401", "ST403"].contains($0.rule.code) }
        #expect(fileLevel.count == 2 && fileLevel.allSatisfy(\.isWaived), "\(waived.findings)")
        #expect(waived.passes, "\(waived.open)")
    }

    @Test
    func whatMigrateCannotLoadStopsTheLintToo() throws {
        let fixture = try MigrationFixture([
            "0001_a.up.sql": "-- strata:irreversible\nCREATE TABLE a (id BIGINT);", "0001_a.down.sql": "DROP TABLE a;",
        ])
        #expect(throws: MigrationLoadError(file: "0001_a.down.sql",
                                           message: "the up is marked -- strata:irreversible, so it cannot have a down")) {
            try MigrationLinter.lint(directory: fixture.root, dialects: [.postgres])
        }
        try fixture.remove("0001_a.down.sql")
        try fixture.write("0002_b.down.sql", "DROP TABLE b;")
        #expect(throws: MigrationLoadError(file: "0002_b.down.sql", message: "no matching .up.sql")) {
            try MigrationLinter.lint(directory: fixture.root, dialects: [.postgres])
        }
        try fixture.write("0002_b.up.sql", "CREATE TABLE b (id BIGINT) -- strata:no-transation")
        #expect(throws: MigrationLoadError.self) { try MigrationLinter.lint(directory: fixture.root, dialects: [.postgres]) }
    }

    @Test(arguments: SQLSplitDialect.allCases)
    func waiversMustSayWhyAndMatchSomething(_ dialect: SQLSplitDialect) throws {
        let report = try Self.lint("""
            -- strata:lint-ignore DS102
            DROP TABLE accounts;
            -- strata:lint-ignore XX999 no such rule
            ALTER TABLE accounts ADD COLUMN note TEXT;
            -- strata:lint-ignore DS103 nothing is dropped here
            CREATE TABLE fresh (id BIGINT);
            DROP TABLE owners; -- strata:lint-ignore DS102, BC101: owners was emptied in 0001
            """, dialect: dialect)
        let byCode = Dictionary(grouping: report.findings, by: \.rule.code)
        #expect(byCode["DS102"]?.map(\.line) == [2, 7])
        #expect(byCode["DS102"]?.map(\.isWaived) == [false, true], "a waiver without a reason waives nothing")
        #expect(byCode["DS102"]?.last?.waiver?.reason == "owners was emptied in 0001")
        #expect(byCode["ST404"]?.map(\.line) == [1, 3], "\(report.findings)")
        #expect(byCode["ST405"]?.map(\.line) == [5], "an unused waiver is a notice: \(report.findings)")
        #expect(byCode["ST405"]?.first?.severity == .notice)
        #expect(!report.passes)
    }

    @Test
    func aSingleDialectFolderNeedsItsDialect() throws {
        let fixture = try MigrationFixture([
            "0001_a.up.sql": "CREATE TABLE a (id BIGINT);", "0001_a.down.sql": "DROP TABLE a;",
            "0002_b.up.sql": "ALTER TABLE a ALTER COLUMN id TYPE int;", "0002_b.down.sql": "ALTER TABLE a ALTER COLUMN id TYPE bigint;",
        ])
        #expect(throws: MigrationLoadError.self) { try MigrationLinter.lint(directory: fixture.root) }
        let report = try MigrationLinter.lint(directory: fixture.root, dialects: [.postgres], scope: .since(MigrationVersion("2")!),
                                              label: "db/migrations/")
        #expect(report.open.map { "\($0.file):\($0.line) \($0.rule.code)" } == [
            "db/migrations/0002_b.up.sql:1 PG301", "db/migrations/0002_b.up.sql:1 ST302",
        ], "\(report.findings)")
    }

    @Test(arguments: SQLSplitDialect.allCases)
    func theProjectsMigrationsLintCleanOrWaived(_ dialect: SQLSplitDialect) throws {
        let report = try MigrationLinter.lint(directory: projectRoot.appendingPathComponent("migrations"), dialects: [dialect])
        #expect(report.open.isEmpty, "\(report.open)")
        #expect(report.findings.allSatisfy { ($0.waiver?.reason.count ?? 0) > 10 })
        #expect(report.migrationsLinted[dialect] == 10)
    }

    /// Half-written and odd statements must neither crash the recogniser nor be
    /// mistaken for a risky form: the server would refuse most of them anyway.
    @Test(arguments: SQLSplitDialect.allCases)
    func fragmentsAreNoFindings(_ dialect: SQLSplitDialect) throws {
        let fragments = [
            "ALTER TABLE", "ALTER TABLE accounts", "ALTER TABLE accounts ADD", "ALTER TABLE accounts ALTER COLUMN",
            "ALTER TABLE accounts RENAME", "CREATE", "CREATE UNIQUE", "CREATE INDEX", "CREATE INDEX ON", "DROP", "DROP INDEX",
            "DROP TABLE", "TRUNCATE", "RENAME TABLE accounts", "CREATE TABLE t (", "CREATE TABLE t (a ENUM(",
            "ALTER TABLE accounts ADD CONSTRAINT", "ALTER TABLE accounts MODIFY", "ALTER TABLE accounts CHANGE email",
            "SELECT 'DROP TABLE accounts'", "(((", ")", ",", ".", "ALTER TABLE . ADD COLUMN . .",
        ]
        for fragment in fragments {
            let report = try Self.lint(fragment + ";", dialect: dialect)
            let risky = report.open.filter { !["ST201", "ST302"].contains($0.rule.code) && $0.severity == .error }
            #expect(risky.isEmpty, "\(fragment): \(report.findings)")
        }
    }

    @Test
    func theRecogniserReadsBothDialectsSpellings() throws {
        func recognise(_ sql: String, _ dialect: SQLSplitDialect) -> DDLStatement {
            DDLRecognizer.recognise(LintToken.tokens(of: SQLStatement(text: sql, line: 1, index: 0), dialect: dialect))
        }
        #expect(recognise(#"CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS "Ix" ON ONLY public."Accounts" (a)"#, .postgres)
                == .createIndex(name: "Ix", table: "Accounts", unique: true, concurrently: true, columns: ["a"]))
        #expect(recognise("DROP INDEX ix_a ON `accounts`", .mysql) == .dropIndexes(["ix_a"], concurrently: false, table: "accounts"))
        #expect(recognise("RENAME TABLE a TO b, c TO d", .mysql) == .renameTables(from: ["a", "c"], to: ["b", "d"]))
        #expect(recognise("set local lock_timeout to '1s'", .postgres) == .setsLockTimeout)
        #expect(recognise("SELECT set_config('lock_timeout', '1s', false)", .postgres) == .setsLockTimeout)
        #expect(recognise("INSERT INTO a VALUES ('DROP TABLE a')", .postgres) == .dataChange)
        guard case .alterTable("a", let actions) = recognise(
            "ALTER TABLE a ADD COLUMN b INT NOT NULL DEFAULT 0, DROP COLUMN c, ALTER COLUMN d TYPE text USING d::text", .postgres)
        else { Issue.record("not an ALTER TABLE"); return }
        #expect(actions.count == 3)
        if case .addColumn(let column) = actions[0].change {
            #expect(column.notNull && column.defaultExpression?.map(\.text) == ["0"] && column.typeText == "int")
        } else { Issue.record("\(actions[0])") }
        #expect(actions[1].change == .dropColumn("c"))
        #expect(actions[2].change == .changeType(column: "d", type: ["text"]))
    }
}

private extension LintFinding {
    func passes(severity: LintSeverity) -> Bool { self.severity == severity }
}
