import Foundation
@testable import StrataMigrations
import StrataSQL
import Testing

/// The table lock (`--lock table`): a lease row in `strata_migration_lock` that keeps
/// runs apart where a session lock does not hold, is taken over when its run died, and
/// fences a run whose lease was taken over out of the history.
@Suite struct TableLockTests {
    /// Five migrations; each logs its version in `applied_log` once per time it runs.
    private func loggedMigrations() throws -> MigrationFixture {
        var files: [String: String] = [
            "1_log.up.sql": "CREATE TABLE applied_log (version INT NOT NULL);\nINSERT INTO applied_log (version) VALUES (1);\n",
            "1_log.down.sql": "DROP TABLE applied_log;\n",
        ]
        for v in 2...5 {
            files["\(v)_t\(v).up.sql"] = "\(PortableSQL.createTable("t\(v)"));\nINSERT INTO t\(v) (id) VALUES (\(v));\nINSERT INTO applied_log (version) VALUES (\(v));\n"
            files["\(v)_t\(v).down.sql"] = "\(PortableSQL.dropTable("t\(v)"));\nDELETE FROM applied_log WHERE version = \(v);\n"
        }
        return try MigrationFixture(files)
    }

    private func count(_ db: Database, _ sql: SQLQuery) async throws -> Int64 {
        try await db.withConnection { try $0.queryFirst(sql)!.decode("n") }
    }

    private func migrate(_ args: [String], _ url: DatabaseURL, _ fixture: MigrationFixture) async throws -> StrataCLI.Result {
        try await StrataCLI.run(["migrate"] + args + ["--migrations", fixture.root.path], environment: ["DATABASE_URL": url.urlString])
    }

    /// Eight `strata migrate up --lock table` processes started at once: every migration
    /// runs exactly once, every process exits 0, and the lock row is gone at the end.
    @Test(arguments: Backend.allCases)
    func eightProcessesApplyEveryMigrationOnce(_ backend: Backend) async throws {
        let fixture = try loggedMigrations()
        try await withFreshDatabase(backend) { db, url in
            var started: [(Process, Pipe, Pipe)] = []
            for _ in 0..<8 {
                started.append(try StrataCLI.start(["migrate", "up", "--lock", "table", "--lock-timeout", "120",
                                                    "--migrations", fixture.root.path],
                                                   environment: ["DATABASE_URL": url.urlString]))
            }
            var results: [StrataCLI.Result] = []
            for (process, out, err) in started { results.append(await StrataCLI.finish(process, out, err)) }
            for r in results { #expect(r.status == 0, "\(r.stdout) \(r.stderr)") }
            let applied = results.flatMap { $0.stdout.split(separator: "\n") }.filter { $0.hasPrefix("up   ") }
            #expect(applied.count == 5, "\(results.map(\.stdout))")
            for v in 1...5 {
                #expect(try await count(db, "SELECT COUNT(*) AS n FROM applied_log WHERE version = \(v)") == 1, "version \(v)")
            }
            #expect(try await count(db, "SELECT COUNT(*) AS n FROM strata_schema_history WHERE state = 'applied'") == 5)
            #expect(try await count(db, "SELECT COUNT(*) AS n FROM strata_migration_lock") == 0)
        }
    }

    /// Runs that create the lock tables at the same moment all succeed: PostgreSQL reports
    /// the loser of the race as a unique violation in its catalogue, or as the table's row
    /// type already existing (42710), which once failed one of eight `migrate up`s.
    @Test(arguments: Backend.allCases)
    func theLockTablesAreCreatedByManyRunsAtOnce(_ backend: Backend) async throws {
        try await withFreshDatabase(backend, maxConnections: 8) { db, _ in
            for round in 0..<6 {
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for _ in 0..<8 {
                        group.addTask { try await db.withConnection { try TableMigrationLock.create($0, dialect: db.dialect) } }
                    }
                    try await group.waitForAll()
                }
                #expect(try await count(db, "SELECT COUNT(*) AS n FROM strata_migration_lock") == 0, "round \(round)")
                #expect(try await count(db, "SELECT COUNT(*) AS n FROM strata_lock_events") == 0, "round \(round)")
                try await db.withConnection {
                    try $0.executeUnprepared("DROP TABLE strata_lock_events")
                    try $0.executeUnprepared("DROP TABLE strata_migration_lock")
                }
            }
        }
    }

    /// A fixture whose second statement runs 60 s: a run killed there leaves its lock row.
    private func longMigration(_ backend: Backend, marker: String) throws -> MigrationFixture {
        let sleep = backend == .postgres ? "pg_sleep(60)" : "SLEEP(60)"
        return try MigrationFixture([
            "1_long.up.sql": "CREATE TABLE \(marker) (id INT NOT NULL);\nINSERT INTO \(marker) (id) SELECT 1 FROM (SELECT \(sleep) AS s) AS slow;\n\(PortableSQL.createTable("\(marker)_after"));\n",
            "1_long.down.sql": "DROP TABLE \(marker)_after;\nDROP TABLE \(marker);\n",
        ])
    }

    private func waitUntilRunning(_ db: Database, _ backend: Backend, marker: String) async throws -> Bool {
        let pattern = "%\(marker)%slow%"
        let sql: SQLQuery = backend == .postgres
            ? "SELECT COUNT(*) AS n FROM pg_stat_activity WHERE query LIKE \(pattern) AND pid <> pg_backend_pid() AND state = 'active'"
            : "SELECT COUNT(*) AS n FROM information_schema.processlist WHERE info LIKE \(pattern) AND id <> CONNECTION_ID()"
        let deadline = ContinuousClock.now + .seconds(90)
        while ContinuousClock.now < deadline {
            if try await count(db, sql) > 0 { return true }
            try await Task.sleep(for: .milliseconds(50))
        }
        return false
    }

    /// A run killed with SIGKILL mid-migration leaves its lock row; `status` names it; the
    /// next run waits until the lease has ended, takes the lock over (recorded in
    /// `strata_lock_events`) and continues at the right statement.
    @Test(arguments: Backend.allCases)
    func aKilledRunsLockIsTakenOverOnceItsLeaseEnds(_ backend: Backend) async throws {
        let marker = uniqueName("tl")
        let fixture = try longMigration(backend, marker: marker)
        try await withFreshDatabase(backend) { db, url in
            let (process, out, err) = try StrataCLI.start(["migrate", "up", "--lock", "table", "--lock-lease", "4",
                                                           "--migrations", fixture.root.path],
                                                          environment: ["DATABASE_URL": url.urlString])
            #expect(try await waitUntilRunning(db, backend, marker: marker), "statement 2 never ran")
            kill(process.processIdentifier, SIGKILL)
            let killed = await StrataCLI.finish(process, out, err)
            #expect(killed.status != 0)

            let status = try await migrate(["status", "--json", "--lock", "table"], url, fixture)
            let lock = status.json?["lock"] as? [String: Any]
            let holder = lock?["holder"] as? [String: Any]
            #expect(lock?["kind"] as? String == "table", "\(status.stdout)")
            #expect(holder?["pid"] as? Int == Int(process.processIdentifier), "\(status.stdout)")
            let deadOwner = try #require(holder?["owner"] as? String)

            try fixture.write("1_long.up.sql", try String(contentsOf: fixture.root.appendingPathComponent("1_long.up.sql"), encoding: .utf8)
                .replacingOccurrences(of: "(60)", with: "(0)"))
            let again = try await migrate(["up", "--lock", "table", "--lock-lease", "4", "--lock-timeout", "60"], url, fixture)
            #expect(again.status == 0, "\(again.stderr)")
            #expect(again.stdout.contains(db.dialect.supportsTransactionalDDL ? "up   1_long" : "resumed at 2"), "\(again.stdout)")
            #expect(try await count(db, "SELECT COUNT(*) AS n FROM \(identifier: marker)") == 1, "applied exactly once")
            #expect(try await count(db, "SELECT COUNT(*) AS n FROM strata_migration_lock") == 0)
            #expect(try await count(db, "SELECT COUNT(*) AS n FROM strata_lock_events WHERE event = 'takeover' AND holder_owner = \(deadOwner)") == 1)
        }
    }

    /// A run that lasts several leases keeps its lock: its renewals hold a second run
    /// off (no takeover), which then finds nothing to do.
    @Test(arguments: Backend.allCases)
    func aLongRunRenewsItsLease(_ backend: Backend) async throws {
        let marker = uniqueName("tr")
        // Three-second leases over a twelve-second statement: four leases, renewed every
        // second (a one-second lease lost its renewals on this 2-core machine under a
        // full test run's load).
        let sleep = backend == .postgres ? "pg_sleep(12)" : "SLEEP(12)"
        let fixture = try MigrationFixture([
            "1_slow.up.sql": "CREATE TABLE \(marker) (id INT NOT NULL);\nINSERT INTO \(marker) (id) SELECT 1 FROM (SELECT \(sleep) AS s) AS slow;\n",
            "1_slow.down.sql": "DROP TABLE \(marker);\n",
        ])
        // A test task starved at the start of a full run (2 cores, every suite at once) may
        // look only after the slow statement ended: that attempt proves nothing, and the
        // scenario runs again on a fresh database, at most 3 times.
        for attempt in 1...3 {
            if try await renewalScenario(backend, marker: marker, fixture: fixture) { return }
            print("aLongRunRenewsItsLease(\(backend)): attempt \(attempt): the slow statement was not seen running; again")
        }
        Issue.record("in 3 attempts the slow statement was never seen running")
    }

    private func renewalScenario(_ backend: Backend, marker: String, fixture: MigrationFixture) async throws -> Bool {
        try await withFreshDatabase(backend) { db, url -> Bool in
            let args = ["migrate", "up", "--lock", "table", "--lock-lease", "3", "--lock-timeout", "60", "--migrations", fixture.root.path]
            let first = try StrataCLI.start(args, environment: ["DATABASE_URL": url.urlString])
            guard try await waitUntilRunning(db, backend, marker: marker) else {
                let firstResult = await StrataCLI.finish(first.0, first.1, first.2)
                #expect(firstResult.status == 0, "\(firstResult.stderr)")
                return false
            }
            let second = try await StrataCLI.run(args, environment: ["DATABASE_URL": url.urlString])
            let firstResult = await StrataCLI.finish(first.0, first.1, first.2)
            #expect(firstResult.status == 0, "\(firstResult.stderr)")
            #expect(firstResult.stdout.contains("up   1_slow"), "\(firstResult.stdout)")
            #expect(second.status == 0, "\(second.stderr)")
            #expect(second.stdout.contains("nothing to do"), "\(second.stdout)")
            #expect(try await count(db, "SELECT COUNT(*) AS n FROM \(identifier: marker)") == 1)
            #expect(try await count(db, "SELECT COUNT(*) AS n FROM strata_lock_events") == 0, "a live run's lock was taken over")
            return true
        }
    }

    /// The migration error `body` throws, if any.
    private func migrationError(_ body: () throws -> Void) -> MigrationError? {
        do {
            try body()
            return nil
        } catch let error as MigrationError {
            return error
        } catch {
            Issue.record("not a migration error: \(error)")
            return nil
        }
    }

    private func record(_ version: Int) -> HistoryRecord {
        HistoryRecord(version: MigrationVersion("\(version)")!, name: "v\(version)", checksum: "c", direction: .up,
                      state: .applied, appliedAt: SQLTimestamp(Date()), appliedBy: "tests", executionMilliseconds: 0,
                      statementsTotal: 1, statementsApplied: 1, statementChecksums: ["s"], error: nil,
                      failedStatement: nil, toolVersion: "tests", repairedBy: nil, repairedAt: nil)
    }

    /// Run A's lease ends and run B takes the lock over: A's later writes to the history
    /// and its journal are refused, its renewal finds the lock lost, and its release
    /// leaves B's lock alone.
    @Test(arguments: Backend.allCases)
    func aRunWhoseLockWasTakenOverCannotWriteTheHistory(_ backend: Backend) async throws {
        try await withFreshDatabase(backend) { db, _ in
            let dialect = db.dialect
            try await db.withConnection { conn in
                let name = "strata:fence-test"
                // A's lease is long (B's first wait surely ends inside it, also on a loaded
                // machine, where even 4 s went by between two statements of this thread);
                // then the test ends it by setting its expiry into the past.
                let a = TableMigrationLock(name: name, dialect: dialect, lease: .seconds(120))
                let b = TableMigrationLock(name: name, dialect: dialect, lease: .seconds(30))
                try a.acquire(conn, timeout: .zero, onWait: {}, isCancelled: { false })
                let history = try SchemaHistory(table: "strata_schema_history", dialect: dialect)
                try history.create(conn)
                let asA = history.fenced(by: a)
                let first = record(1)
                try asA.write(conn) { try asA.insert(conn, first) }

                // While A's lease runs, B waits and gives up.
                let waited = migrationError { try b.acquire(conn, timeout: .milliseconds(300), onWait: {}, isCancelled: { false }) }
                #expect(waited?.description.hasPrefix("lock timeout") == true, "\(String(describing: waited))")
                try conn.execute("UPDATE strata_migration_lock SET expires_at = \(dialect.serverTime(after: .seconds(-1)))")
                try b.acquire(conn, timeout: .seconds(10), onWait: {}, isCancelled: { false })
                #expect(try b.holder(conn)?.owner == b.owner)

                let second = record(2)
                let refused = migrationError { try asA.write(conn) { try asA.insert(conn, second) } }
                #expect(refused?.description.contains("lost the migration lock") == true, "\(String(describing: refused))")
                #expect(refused?.description.contains(b.owner) == true, "\(String(describing: refused))")
                let journalRefused = migrationError {
                    try asA.transaction(conn) {
                        try asA.journal.write(conn, version: MigrationVersion("3")!, [.init(statement: 1, line: 1, checksum: "x", state: .started)])
                    }
                }
                #expect(journalRefused?.description.contains("lost the migration lock") == true)
                #expect(migrationError { try a.renew(conn) } != nil)
                #expect(try history.records(conn).map(\.version.description) == ["1"])
                #expect(try asA.journal.entries(conn).isEmpty)

                a.release(conn)
                #expect(try b.holder(conn)?.owner == b.owner, "A's release removed B's lock")
                let asB = history.fenced(by: b)
                try asB.write(conn) { try asB.insert(conn, second) }
                #expect(try history.records(conn).map(\.version.description) == ["1", "2"])
                b.release(conn)
                #expect(try b.holder(conn) == nil)
            }
        }
    }

    /// `migrate status` names the holder of a table lock; `migrate unlock` refuses one
    /// whose lease runs, removes it with `--force` or once the lease ended, and records
    /// who removed whose lock.
    @Test(arguments: Backend.allCases)
    func statusNamesTheHolderAndUnlockRemovesOnlyAStaleLock(_ backend: Backend) async throws {
        let fixture = try loggedMigrations()
        try await withFreshDatabase(backend) { db, url in
            let name = "strata:\(url.database):strata_schema_history"
            let dialect = db.dialect
            // A live run's lock: named by status, refused by unlock, removed with --force.
            let live = TableMigrationLock(name: name, dialect: dialect, lease: .seconds(300))
            try await db.withConnection { try live.acquire($0, timeout: .zero, onWait: {}, isCancelled: { false }) }

            let status = try await migrate(["status", "--json"], url, fixture)
            let holder = (status.json?["lock"] as? [String: Any])?["holder"] as? [String: Any]
            #expect(holder?["owner"] as? String == live.owner, "\(status.stdout)")
            #expect(holder?["pid"] as? Int == Int(ProcessInfo.processInfo.processIdentifier))
            #expect(holder?["host"] as? String == ProcessInfo.processInfo.hostName)
            #expect(holder?["expires_at"] is String && holder?["expired"] as? Bool == false)
            let text = try await migrate(["status"], url, fixture)
            #expect(text.stdout.contains("lock held by run \(live.owner)"), "\(text.stdout)")

            let refused = try await migrate(["unlock"], url, fixture)
            #expect(refused.status == 1, "\(refused.stdout) \(refused.stderr)")
            #expect(refused.stderr.contains("lease has not ended"), "\(refused.stderr)")
            #expect(refused.stderr.split(separator: "\n").count == 1, "\(refused.stderr)")
            #expect(try await db.withConnection { try live.holder($0) }?.owner == live.owner)

            let forced = try await migrate(["unlock", "--force"], url, fixture)
            #expect(forced.status == 0, "\(forced.stderr)")
            #expect(forced.stdout.contains("forced"), "\(forced.stdout)")
            #expect(try await db.withConnection { try live.holder($0) } == nil)
            #expect(try await count(db, "SELECT COUNT(*) AS n FROM strata_lock_events WHERE event = 'forced_unlock' AND holder_owner = \(live.owner)") == 1)

            // A dead run's lock, whose lease has ended: removed without --force.
            let stale = TableMigrationLock(name: name, dialect: dialect, lease: .seconds(1))
            try await db.withConnection { try stale.acquire($0, timeout: .zero, onWait: {}, isCancelled: { false }) }
            try await Task.sleep(for: .milliseconds(1500))
            let removed = try await migrate(["unlock", "--json"], url, fixture)
            #expect(removed.status == 0, "\(removed.stderr)")
            #expect((removed.json?["removed"] as? [String: Any])?["owner"] as? String == stale.owner, "\(removed.stdout)")
            #expect((removed.json?["removed"] as? [String: Any])?["expired"] as? Bool == true, "\(removed.stdout)")
            #expect(try await db.withConnection { try stale.holder($0) } == nil)
            #expect(try await count(db, "SELECT COUNT(*) AS n FROM strata_lock_events WHERE event = 'unlock' AND holder_owner = \(stale.owner)") == 1)
            let none = try await migrate(["unlock"], url, fixture)
            #expect(none.status == 0 && none.stdout.contains("no table lock"), "\(none.stdout) \(none.stderr)")
        }
    }

    /// `migrate status` names the server session that holds a session lock (`pg_locks`,
    /// `IS_USED_LOCK`), and nothing once it is released.
    @Test(arguments: Backend.allCases)
    func statusNamesTheSessionHoldingASessionLock(_ backend: Backend) async throws {
        let fixture = try loggedMigrations()
        try await withFreshDatabase(backend) { db, url in
            let holder = Database(url: url, maxConnections: 1, logger: TestLog.logger)
            let name = "strata:\(url.database):strata_schema_history"
            let sessionID = backend.fixture.sessionID
            let session: Int64 = try await holder.withConnection { conn in
                #expect(try conn.tryLock(name: name))
                return try conn.queryFirst(SQLQuery(unsafeSQL: sessionID))!.decode("id")
            }
            let status = try await migrate(["status", "--json"], url, fixture)
            let shown = (status.json?["lock"] as? [String: Any])?["holder"] as? [String: Any]
            #expect(shown?["kind"] as? String == "session", "\(status.stdout)")
            #expect((shown?["pid"] as? Int).map(Int64.init) == session, "\(status.stdout)")
            try await holder.withConnection { try $0.releaseLock(name: name) }
            let after = try await migrate(["status", "--json"], url, fixture)
            #expect((after.json?["lock"] as? [String: Any])?["holder"] is NSNull, "\(after.stdout)")
            await holder.close()
        }
    }

    /// `pooler=transaction` declares a transaction pooler: the connection says so and
    /// sends every statement unnamed (no statement cache), as PgBouncer needs; any other
    /// value than `transaction` or `none` is a one-line URL error.
    @Test func aDeclaredPoolerTurnsTheStatementCacheOff() async throws {
        var url = try Backend.postgres.url()
        url.parameters.append(("pooler", "transaction"))
        let db = Database(url: url, maxConnections: 1, logger: TestLog.logger)
        let (topology, names): (ConnectionTopology, [String]) = try await db.withConnection { conn in
            for i in 1...3 { _ = try conn.queryFirst("SELECT \(i)::int AS n") }
            return (try conn.topology(), try conn.query("SELECT name FROM pg_prepared_statements").map { try $0.decode("name") })
        }
        await db.close()
        #expect(topology == .transactionPooler)
        #expect(names.isEmpty, "\(names)")

        let direct = try Backend.postgres.database(maxConnections: 1)
        #expect(try await direct.withConnection { try $0.topology() } == .singleServer)
        await direct.close()

        let bad = try await StrataCLI.run(["migrate", "status", "--migrations", projectRoot.appendingPathComponent("migrations").path],
                                          environment: ["DATABASE_URL": try Backend.postgres.url().urlString + "?pooler=sometimes"])
        #expect(bad.status == 64, "\(bad.stderr)")
        #expect(bad.stderr.contains("invalid pooler 'sometimes'") && bad.stderr.split(separator: "\n").count == 1, "\(bad.stderr)")
        let both = try await StrataCLI.run(["migrate", "up", "--no-lock", "--lock", "table"])
        #expect(both.status == 64 && both.stderr.contains("--no-lock and --lock table exclude each other"), "\(both.stderr)")
    }

    /// `auto` takes the session lock on the plain test servers, and the table lock when
    /// the URL declares a transaction pooler; `--lock none` / `--no-lock` take none.
    @Test(arguments: Backend.allCases)
    func autoChoosesTheSessionLockOnAPlainServerAndTheTableLockBehindAPooler(_ backend: Backend) async throws {
        let fixture = try loggedMigrations()
        try await withFreshDatabase(backend) { db, url in
            let set = try MigrationLoader.load(directory: fixture.root, dialect: backend == .postgres ? .postgres : .mysql)
            #expect(try await Migrator(database: db, migrations: set, logger: TestLog.logger).lockChoice().kind == .session)
            var none = MigratorOptions()
            none.useLock = false
            #expect(try await Migrator(database: db, migrations: set, options: none, logger: TestLog.logger).lockChoice().kind == nil)
            let status = try await migrate(["status", "--json"], url, fixture)
            #expect((status.json?["lock"] as? [String: Any])?["kind"] as? String == "session", "\(status.stdout)")

            guard backend == .postgres else { return }
            var pooled = url
            pooled.parameters.append(("pooler", "transaction"))
            let behind = Database(url: pooled, maxConnections: 2, logger: TestLog.logger)
            let choice = try await Migrator(database: behind, migrations: set, logger: TestLog.logger).lockChoice()
            await behind.close()
            #expect(choice.kind == .table, "\(choice.reason)")
            let up = try await StrataCLI.run(["migrate", "up", "--migrations", fixture.root.path],
                                             environment: ["DATABASE_URL": url.urlString + "?pooler=transaction"])
            #expect(up.status == 0, "\(up.stderr)")
            // The run took the table lock: its table exists, and the run removed its row.
            #expect(try await count(db, "SELECT COUNT(*) AS n FROM strata_migration_lock") == 0)
            #expect(try await count(db, "SELECT COUNT(*) AS n FROM applied_log") == 5)
        }
    }
}
