import Foundation
import StrataMigrations
import StrataSQL
import Testing

/// `strata migrate` as deploy pipelines and developers run it: real processes, real servers.
@Suite("strata migrate CLI")
struct MigrateCLITests {
    private func migrate(_ args: [String], url: DatabaseURL, dir: URL) async throws -> StrataCLI.Result {
        try await StrataCLI.run(["migrate"] + args + ["--migrations", dir.path],
                                environment: ["DATABASE_URL": url.urlString])
    }

    @Test(arguments: Backend.allCases)
    func everyCommand(_ backend: Backend) async throws {
        let fixture = try MigrationFixture([
            "0001_a.up.sql": PortableSQL.createTable("a"),
            "0001_a.down.sql": PortableSQL.dropTable("a"),
            "0002_b.up.sql": PortableSQL.createTable("b"),
            "0002_b.down.sql": PortableSQL.dropTable("b"),
        ])
        let dir = fixture.root
        try await withFreshDatabase(backend) { db, url in
            var r = try await migrate(["status", "--exit-code"], url: url, dir: dir)
            #expect(r.status == 3, "pending → 3: \(r.stderr)")
            r = try await migrate(["plan"], url: url, dir: dir)
            #expect(r.status == 0 && r.stdout.contains("CREATE TABLE a") && r.stdout.contains("-- line 1"), "\(r.stderr)")
            r = try await migrate(["up", "--dry-run", "--json"], url: url, dir: dir)
            #expect(r.json?["dry_run"] as? Bool == true)
            #expect(try await db.tableNames().isEmpty, "dry run ran nothing")
            r = try await migrate(["up"], url: url, dir: dir)
            #expect(r.status == 0, "\(r.stderr)")
            let lines = r.stdout.split(separator: "\n")
            #expect(lines.filter { $0.hasPrefix("up ") && $0.hasSuffix(" ms") }.count == 2, "one progress line per migration: \(r.stdout)")
            r = try await migrate(["status", "--json", "--exit-code"], url: url, dir: dir)
            #expect(r.status == 0, "\(r.stderr)")
            #expect(r.json?["pending"] as? Int == 0)
            #expect((r.json?["migrations"] as? [[String: Any]])?.map { $0["state"] as? String } == ["applied", "applied"])
            #expect(!r.stdout.contains("strata:strata@"), "no password in JSON")
            r = try await migrate(["down", "--json"], url: url, dir: dir)
            #expect(r.status == 0, "\(r.stderr)")
            #expect((r.json?["migrations"] as? [[String: Any]])?.count == 1, "down without argument reverts one")
            r = try await migrate(["redo"], url: url, dir: dir)
            #expect(r.status == 0 && r.stdout.contains("down 0001_a") && r.stdout.contains("up   0001_a"), "\(r.stderr)")
            r = try await migrate(["goto", "2"], url: url, dir: dir)
            #expect(r.status == 0 && r.stdout.contains("up   0002_b"), "\(r.stderr)")
            r = try await migrate(["down", "--to", "1"], url: url, dir: dir)
            #expect(r.status == 0 && r.stdout.contains("down 0002_b"), "\(r.stderr)")
            r = try await migrate(["down", "--all"], url: url, dir: dir)
            #expect(r.status == 0, "\(r.stderr)")
            r = try await migrate(["validate"], url: url, dir: dir)
            #expect(r.status == 0 && r.stdout.contains("ok"), "\(r.stderr)")
            r = try await migrate(["new", "add_c"], url: url, dir: dir)
            #expect(r.status == 0 && r.stdout.contains("0003_add_c.up.sql"), "\(r.stderr)")
            #expect(FileManager.default.fileExists(atPath: dir.appendingPathComponent("0003_add_c.down.sql").path))
            r = try await migrate(["baseline", "2"], url: url, dir: dir)
            #expect(r.status == 0 && r.stdout.contains("baselined 2"), "\(r.stderr)")
            r = try await migrate(["up", "--json"], url: url, dir: dir)
            #expect(r.status == 0 && (r.json?["migrations"] as? [[String: Any]])?.count == 1, "the empty 0003 is a no-op")
            r = try await migrate(["repair", "3"], url: url, dir: dir)
            #expect(r.status == 0, "\(r.stderr)")
            r = try await StrataCLI.run(["migrate", "wait", "--timeout", "5"], environment: ["DATABASE_URL": url.urlString])
            #expect(r.status == 0, "\(r.stderr)")
        }
    }

    @Test(arguments: Backend.allCases)
    func eightProcessesAtOnceApplyEachMigrationOnce(_ backend: Backend) async throws {
        let dir = projectRoot.appendingPathComponent("migrations")
        try await withFreshDatabase(backend) { db, url in
            let results = try await withThrowingTaskGroup(of: StrataCLI.Result.self) { group in
                // The test is about each migration running once, not about how long a
                // waiter waits: on a loaded CI machine the first run's DDL can queue
                // behind the other tests' for longer than the default 60 s.
                for _ in 0..<8 {
                    group.addTask { try await migrate(["up", "--json", "--lock-timeout", "300"], url: url, dir: dir) }
                }
                var all: [StrataCLI.Result] = []
                for try await r in group { all.append(r) }
                return all
            }
            let failed = results.filter { $0.status != 0 }.map { "exit \($0.status): \($0.stderr)" }
            #expect(failed.isEmpty, "\(failed.count) of 8 failed: \(failed)")
            let applied = results.compactMap { ($0.json?["migrations"] as? [[String: Any]])?.count }.reduce(0, +)
            let expected = try MigrationLoader.load(directory: dir, dialect: backend == .postgres ? .postgres : .mysql).migrations.count
            #expect(applied == expected, "each migration applied exactly once in all")
            let rows: Int64 = try await db.withConnection { try $0.queryFirst("SELECT COUNT(*) AS n FROM strata_schema_history WHERE state = 'applied'")!.decode("n") }
            #expect(rows == Int64(expected))
        }
    }

    @Test(arguments: Backend.allCases)
    func aKilledRunLeavesAStateTheNextRunFinishes(_ backend: Backend) async throws {
        let marker = uniqueName("kill_marker")
        // Long enough that a starved test process still sees it running; the file is
        // fixed to a short sleep before the next run, as a developer would.
        @Sendable func sleep(_ seconds: Int) -> String {
            backend == .postgres ? "SELECT pg_sleep(\(seconds)) AS \(marker)" : "SELECT SLEEP(\(seconds)) AS \(marker)"
        }
        @Sendable func upFile(sleeping seconds: Int) -> String {
            "\(PortableSQL.createTable("before_sleep"));\n\(sleep(seconds));\n\(PortableSQL.createTable("after_sleep"));"
        }
        let fixture = try MigrationFixture([
            "1_long.up.sql": upFile(sleeping: 120),
            "1_long.down.sql": "DROP TABLE after_sleep;\nDROP TABLE before_sleep;",
        ])
        try await withFreshDatabase(backend) { db, url in
            let (process, _, _) = try StrataCLI.start(["migrate", "up", "--migrations", fixture.root.path],
                                                      environment: ["DATABASE_URL": url.urlString])
            // Wait until the long statement runs, then kill the process without warning.
            let deadline = ContinuousClock.now + .seconds(100)
            while ContinuousClock.now < deadline {
                let sleeping: Int64 = try await db.withConnection { conn in
                    try conn.queryFirst(backend == .postgres
                        ? "SELECT COUNT(*) AS n FROM pg_stat_activity WHERE query = \(sleep(120))"
                        : "SELECT COUNT(*) AS n FROM information_schema.processlist WHERE info = \(sleep(120))")!.decode("n")
                }
                if sleeping > 0 { break }
                try await Task.sleep(for: .milliseconds(50))
            }
            #expect(process.isRunning, "the migration ended before it could be killed")
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            #expect(process.terminationReason == .uncaughtSignal)
            if backend == .mysql {
                // PostgreSQL notices the dead client within 2 s (client_connection_check_interval);
                // MariaDB may run the orphaned SLEEP on, holding the lock: the operator kills
                // it (unless the server ended it meanwhile: 1094, unknown thread id).
                let orphans: [Int64] = try await db.withConnection { conn in
                    try conn.query("SELECT id FROM information_schema.processlist WHERE info = \(sleep(120))").map { try $0.decode("id") }
                }
                for id in orphans {
                    do {
                        try await db.withConnection { try $0.executeUnprepared(backend.fixture.kill(id)) }
                    } catch let error as DatabaseError where error.code == "1094" {}
                }
            }
            let m = try fixture.migrator(db, backend: backend)
            let status = try await m.status()
            if db.dialect.supportsTransactionalDDL {
                #expect(!(try await db.tableNames().contains("before_sleep")), "PostgreSQL: the open transaction died with the process")
                #expect(status.entries.map(\.state) == [.pending])
            } else {
                #expect(try await db.tableNames().contains("before_sleep"))
                #expect(status.entries.map(\.state) == [.interrupted])
                #expect(status.entries[0].record?.statementsApplied == 1)
            }
            // Statement 1 stays as it was applied; the long sleep becomes a short one.
            try fixture.write("1_long.up.sql", upFile(sleeping: 1))
            // The next run takes the lock once the dead session is gone, and finishes the work.
            let r = try await StrataCLI.run(["migrate", "up", "--migrations", fixture.root.path],
                                            environment: ["DATABASE_URL": url.urlString])
            #expect(r.status == 0, "\(r.stderr)")
            #expect(r.stdout.contains(db.dialect.supportsTransactionalDDL ? "up   1_long" : "resumed at 2"))
            let tables = try await db.tableNames()
            #expect(tables.contains("before_sleep") && tables.contains("after_sleep"))
            #expect(try await fixture.migrator(db, backend: backend).status().entries.map(\.state) == [.applied])
        }
    }

    @Test(arguments: Backend.allCases)
    func anEditedAppliedFileIsRefusedWithItsName(_ backend: Backend) async throws {
        let fixture = try MigrationFixture([
            "1_a.up.sql": PortableSQL.createTable("a"), "1_a.down.sql": PortableSQL.dropTable("a"),
            "2_b.up.sql": PortableSQL.createTable("b"), "2_b.down.sql": PortableSQL.dropTable("b"),
        ])
        try await withFreshDatabase(backend) { db, url in
            var r = try await migrate(["up", "--steps", "1"], url: url, dir: fixture.root)
            #expect(r.status == 0, "\(r.stderr)")
            try fixture.write("1_a.up.sql", PortableSQL.createTable("a") + ";\nCREATE TABLE sneaky (id INT);")
            r = try await migrate(["validate"], url: url, dir: fixture.root)
            #expect(r.status == 5 && r.stdout.contains("1_a.up.sql"), "\(r.stdout)")
            r = try await migrate(["up"], url: url, dir: fixture.root)
            #expect(r.status == 5)
            #expect(r.stderr.contains("1_a.up.sql") && r.stderr.split(separator: "\n").count == 1, "\(r.stderr)")
            #expect(!(try await db.tableNames().contains("b")))
        }
    }

    @Test(arguments: [
        ("3_.up.sql", "empty name"),
        ("1_dup.down.sql", "duplicate version"),
        ("2_x.up.sql", "no matching .down.sql"),
        ("01_a.up.sql", "duplicate version"),
    ])
    func badFilesAreOneLineErrorsAndTouchNothing(_ file: String, _ expected: String) async throws {
        let fixture = try MigrationFixture([
            "1_a.up.sql": PortableSQL.createTable("a"), "1_a.down.sql": PortableSQL.dropTable("a"),
        ])
        try fixture.write(file, "SELECT 1;")
        if file == "01_a.up.sql" { try fixture.write("01_a.down.sql", "SELECT 1;") }
        for backend in Backend.allCases {
            try await withFreshDatabase(backend) { db, url in
                let r = try await migrate(["up"], url: url, dir: fixture.root)
                #expect(r.status == 1)
                #expect(r.stderr.contains(expected), "\(r.stderr)")
                #expect(r.stderr.contains(file) || r.stderr.contains("1_a.up.sql"))
                #expect(r.stderr.split(separator: "\n").count == 1)
                #expect(try await db.tableNames().isEmpty, "database untouched")
            }
        }
    }

    @Test func foldersThatDisagreeAreRejected() async throws {
        let fixture = try MigrationFixture([
            "postgres/1_a.up.sql": "CREATE TABLE a (id INT)", "postgres/1_a.down.sql": "DROP TABLE a",
            "mysql/1_b.up.sql": "CREATE TABLE a (id INT)", "mysql/1_b.down.sql": "DROP TABLE a",
        ])
        let r = try await StrataCLI.run(["migrate", "validate", "--migrations", fixture.root.path])
        #expect(r.status == 1 && r.stderr.contains("1_"), "\(r.stderr)")
    }

    @Test func badURLsAndMissingDatabaseAreUsageErrors() async throws {
        var r = try await StrataCLI.run(["migrate", "status"])
        #expect(r.status == 64 && r.stderr.contains("DATABASE_URL"))
        r = try await StrataCLI.run(["migrate", "status"], environment: ["DATABASE_URL": "redis://u:hunter2@h/db"])
        #expect(r.status == 64 && r.stderr.contains("unknown database URL scheme") && !r.stderr.contains("hunter2"))
        // The test server, whichever port it listens on, with a wrong password.
        let server = try Backend.postgres.url()
        r = try await StrataCLI.run(["migrate", "status", "--migrations", projectRoot.appendingPathComponent("migrations").path],
                                    environment: ["DATABASE_URL": "postgres://strata:hunter2@\(server.host):\(server.effectivePort)/\(server.database)"])
        #expect(r.status == 1 && r.stderr.contains("authentication") && !r.stderr.contains("hunter2"), "\(r.stderr)")
    }
}

extension DatabaseURL {
    /// The URL as text with its password, for handing to a child process's environment.
    var urlString: String {
        "\(scheme)://\(user ?? "")\(password.map { ":\($0)" } ?? "")@\(host):\(effectivePort)/\(database)"
    }
}
