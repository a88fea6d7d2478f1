import Foundation
import StrataMigrations
import StrataSQL
import Testing

/// The migration engine through its library API, on both backends.
@Suite("Migrator")
struct MigratorTests {
    /// Three portable migrations: tables a, b, c.
    private func threeTables() throws -> MigrationFixture {
        try MigrationFixture([
            "1_a.up.sql": PortableSQL.createTable("a") + ";\nINSERT INTO a (id) VALUES (1);",
            "1_a.down.sql": PortableSQL.dropTable("a"),
            "2_b.up.sql": "-- b\n" + PortableSQL.createTable("b"),
            "2_b.down.sql": PortableSQL.dropTable("b") + ";",
            "10_c.up.sql": PortableSQL.createTable("c") + ";\r\n",
            "10_c.down.sql": PortableSQL.dropTable("c") + "\r\n",
        ])
    }

    @Test(arguments: Backend.allCases)
    func upDownRedoGotoAndStatus(_ backend: Backend) async throws {
        let fixture = try threeTables()
        try await withFreshDatabase(backend) { db, _ in
            let m = try fixture.migrator(db, backend: backend)
            #expect(try await m.status().pending.count == 3)
            // 10 sorts after 2: versions compare as integers.
            let first = try await m.run(.up(steps: 2))
            #expect(first.completed.map(\.step.migration.version.description) == ["1", "2"])
            #expect(try await db.tableNames().filter { $0.count == 1 } == ["a", "b"])
            try await m.run(.up())
            #expect(try await m.status().current?.description == "10")
            // down with no argument is one step.
            try await m.run(.down(.steps(1)))
            #expect(try await db.tableNames().contains("c") == false)
            try await m.run(.redo)
            #expect(try await m.status().current?.description == "2")
            try await m.run(.goto(MigrationVersion("10")!))
            #expect(try await m.status().pending.isEmpty)
            try await m.run(.goto(MigrationVersion("1")!))
            #expect(try await m.status().entries.map(\.state) == [.applied, .pending, .pending])
            try await m.run(.down(.all))
            #expect(try await db.tableNames().filter { $0.count == 1 }.isEmpty)
            let records = try await m.records()
            #expect(records.isEmpty)
            try await m.run(.up(to: MigrationVersion("2")!))
            let history = try await m.records()
            #expect(history.map(\.state) == [.applied, .applied])
            #expect(history[0].statementsTotal == 2 && history[0].statementsApplied == 2)
            #expect(history[0].checksum.count == 64)
            #expect(history[0].toolVersion.hasPrefix("strata"))
            // Nothing left to do is not an error.
            try await m.run(.up(to: MigrationVersion("2")!))
        }
    }

    @Test(arguments: Backend.allCases)
    func aFailedMigrationLeavesNoTraceOrResumesWhereItStopped(_ backend: Backend) async throws {
        let fixture = try MigrationFixture([
            "1_ok.up.sql": PortableSQL.createTable("ok1"),
            "1_ok.down.sql": PortableSQL.dropTable("ok1"),
            "2_bad.up.sql": "\(PortableSQL.createTable("part1"));\n\nINSERT INTO no_such_table VALUES (1);\n\(PortableSQL.createTable("part3"));",
            "2_bad.down.sql": "DROP TABLE part3;\nDROP TABLE part1;",
        ])
        try await withFreshDatabase(backend) { db, _ in
            let m = try fixture.migrator(db, backend: backend)
            do {
                try await m.run(.up())
                Issue.record("up succeeded")
            } catch let MigrationError.statementFailed(file, line, statement, of, error, _) {
                #expect(file.hasSuffix("2_bad.up.sql"))
                #expect(line == 3 && statement == 2 && of == 3)
                #expect(error.category == .undefinedTable)
            }
            let status = try await m.status()
            if db.dialect.supportsTransactionalDDL {
                // One transaction: statement 1 rolled back, no history row, nothing dirty.
                #expect(!(try await db.tableNames().contains("part1")))
                #expect(status.entries.map(\.state) == [.applied, .pending])
            } else {
                // DDL committed itself: the history says exactly how far it got.
                #expect(try await db.tableNames().contains("part1"))
                #expect(status.entries.map(\.state) == [.applied, .failed])
                let record = try #require(status.entries[1].record)
                #expect(record.statementsApplied == 1 && record.failedStatement == 2)
                #expect(record.error?.contains("no_such_table") == true)
                // Changing a statement that already ran is refused…
                try fixture.write("2_bad.up.sql", "\(PortableSQL.createTable("partX"));\nCREATE TABLE fixed (id INT);\n\(PortableSQL.createTable("part3"));")
                await #expect(throws: MigrationError.self) { try await fixture.migrator(db, backend: backend).run(.up()) }
                // …down refuses a half-applied migration…
                await #expect(throws: MigrationError.self) { try await m.run(.down(.steps(1))) }
            }
            // Fixing the failing statement lets up finish (resuming at statement 2 where DDL is not transactional).
            try fixture.write("2_bad.up.sql", "\(PortableSQL.createTable("part1"));\n\nCREATE TABLE fixed (id INT);\n\(PortableSQL.createTable("part3"));")
            try fixture.write("2_bad.down.sql", "DROP TABLE fixed;\nDROP TABLE part3;\nDROP TABLE part1;")
            let fixed = try fixture.migrator(db, backend: backend)
            let report = try await fixed.run(.up())
            #expect(report.completed.first?.step.resumeAt == (db.dialect.supportsTransactionalDDL ? 0 : 1))
            #expect(try await fixed.status().entries.map(\.state) == [.applied, .applied])
            #expect(Set(try await db.tableNames()).isSuperset(of: ["part1", "fixed", "part3"]))
            try await fixed.run(.down(.all))
        }
    }

    @Test(arguments: Backend.allCases)
    func anEditedAppliedFileIsRefusedUntilRepaired(_ backend: Backend) async throws {
        let fixture = try threeTables()
        try await withFreshDatabase(backend) { db, _ in
            try await fixture.migrator(db, backend: backend).run(.up(steps: 2))
            // Line endings and trailing blanks do not count as a change.
            try fixture.write("1_a.up.sql", PortableSQL.createTable("a") + ";  \r\nINSERT INTO a (id) VALUES (1);\r\n\r\n")
            #expect(try await fixture.migrator(db, backend: backend).drift().isEmpty)
            try fixture.write("2_b.up.sql", "-- b, edited\n" + PortableSQL.createTable("b"))
            let m = try fixture.migrator(db, backend: backend)
            let drift = try await m.drift()
            #expect(drift.count == 1 && drift[0].contains("2_b.up.sql"))
            do {
                try await m.run(.up())
                Issue.record("up ran over a changed file")
            } catch MigrationError.drift(let message) {
                #expect(message.contains("2_b.up.sql"))
            }
            #expect(!(try await db.tableNames().contains("c")))
            let repaired = try await m.repair(MigrationVersion("2")!)
            #expect(repaired.contains("marked applied"))
            let record = try #require(try await m.records().first { $0.version.description == "2" })
            #expect(record.repairedBy != nil && record.repairedAt != nil)
            try await m.run(.up())
            #expect(try await db.tableNames().contains("c"))
        }
    }

    @Test(arguments: Backend.allCases)
    func irreversibleBaselineAndOutOfOrder(_ backend: Backend) async throws {
        let fixture = try MigrationFixture([
            "1_keep.up.sql": "-- strata:irreversible\n" + PortableSQL.createTable("keep"),
            "3_b.up.sql": PortableSQL.createTable("b2"),
            "3_b.down.sql": PortableSQL.dropTable("b2"),
        ])
        try await withFreshDatabase(backend) { db, _ in
            let m = try fixture.migrator(db, backend: backend)
            try await m.run(.up())
            try await m.run(.down(.steps(1)))
            do {
                try await m.run(.down(.steps(1)))
                Issue.record("reverted an irreversible migration")
            } catch MigrationError.refused(let message) {
                #expect(message.contains("irreversible"))
            }
            // A pending version below the latest applied one is refused unless allowed.
            try await m.run(.up())
            try fixture.write("2_late.up.sql", PortableSQL.createTable("late"))
            try fixture.write("2_late.down.sql", PortableSQL.dropTable("late"))
            await #expect(throws: MigrationError.self) { try await fixture.migrator(db, backend: backend).run(.up()) }
            try fixture.remove("2_late.up.sql")
            try fixture.remove("2_late.down.sql")
        }
        try await withFreshDatabase(backend) { db, _ in
            let m = try fixture.migrator(db, backend: backend)
            let versions = try await m.baseline(MigrationVersion("1")!)
            #expect(versions.map(\.description) == ["1"])
            #expect(try await m.status().entries.map(\.state) == [.baseline, .pending])
            try await m.run(.up())
            let tables = try await db.tableNames()
            #expect(tables.contains("b2") && !tables.contains("keep"))
            await #expect(throws: MigrationError.self) { try await m.baseline(MigrationVersion("1")!) }
        }
    }

    @Test(arguments: Backend.allCases)
    func concurrentRunnersApplyEachMigrationOnce(_ backend: Backend) async throws {
        let fixture = try threeTables()
        try await withFreshDatabase(backend, maxConnections: 8) { db, url in
            let reports = try await withThrowingTaskGroup(of: MigrationRunReport.self) { group in
                for _ in 0..<6 {
                    group.addTask {
                        // Each runner has its own pool, as separate processes would.
                        let own = Database(url: url, maxConnections: 1, logger: TestLog.logger)
                        defer { Task { await own.close() } }
                        return try await fixture.migrator(own, backend: backend).run(.up())
                    }
                }
                var all: [MigrationRunReport] = []
                for try await r in group { all.append(r) }
                return all
            }
            #expect(reports.map(\.completed.count).reduce(0, +) == 3)
            #expect(try await fixture.migrator(db, backend: backend).records().count == 3)
        }
    }

    @Test(arguments: Backend.allCases)
    func lockTimeoutIsReported(_ backend: Backend) async throws {
        let fixture = try threeTables()
        try await withFreshDatabase(backend, maxConnections: 2) { db, url in
            let holder = Database(url: url, maxConnections: 1, logger: TestLog.logger)
            let lockName = "strata:\(url.database):strata_schema_history"
            let (held, session): (Bool, Int64) = try await holder.withConnection {
                let session: Int64 = try $0.queryFirst(backend == .postgres ? "SELECT pg_backend_pid() AS pid" : "SELECT CONNECTION_ID() AS pid")!.decode("pid")
                return (try $0.tryLock(name: lockName), session)
            }
            #expect(held)
            let started = ContinuousClock.now
            do {
                try await fixture.migrator(db, backend: backend, lockTimeout: .milliseconds(600)).run(.up())
                Issue.record("ran without the lock")
            } catch MigrationError.lockTimeout(let message) {
                #expect(message.contains("held by server session \(session))"), "names who holds it: \(message)")
            }
            #expect(ContinuousClock.now - started < .seconds(30))
            #expect(try await db.tableNames().isEmpty)
            await holder.close()
        }
    }

    @Test(arguments: Backend.allCases)
    func verifyPassesAGoodSetAndNamesABrokenDown(_ backend: Backend) async throws {
        let good = try threeTables()
        try await withFreshDatabase(backend) { db, _ in
            let report = try await good.migrator(db, backend: backend).verify()
            #expect(report.failure == nil)
            #expect(report.verified.count == 3)
            #expect(try await db.tableNames().filter { !$0.hasPrefix("strata_schema_history") }.isEmpty)
        }
        let broken = try threeTables()
        try broken.write("2_b.up.sql", "\(PortableSQL.createTable("b"));\n\(PortableSQL.createTable("b_extra"));")
        try await withFreshDatabase(backend) { db, _ in
            let report = try await broken.migrator(db, backend: backend).verify()
            let failure = try #require(report.failure)
            #expect(failure.migration == "2_b")
            #expect(failure.differences.contains { $0.contains("b_extra") }, "\(failure.differences)")
        }
    }

    @Test(arguments: Backend.allCases)
    func theBillingSchemaVerifies(_ backend: Backend) async throws {
        try await withFreshDatabase(backend) { db, _ in
            let set = try MigrationLoader.load(directory: projectRoot.appendingPathComponent("migrations"),
                                               dialect: backend == .postgres ? .postgres : .mysql)
            let report = try await Migrator(database: db, migrations: set, logger: TestLog.logger).verify()
            #expect(report.failure == nil, "\(String(describing: report.failure))")
            #expect(report.verified.count == set.migrations.count)
        }
    }

    @Test func theBillingSchemaHasParity() async throws {
        try await withFreshDatabase(.postgres, migrated: true) { pg, _ in
            try await withFreshDatabase(.mysql, migrated: true) { my, _ in
                let dir = projectRoot.appendingPathComponent("migrations")
                let a = try Migrator(database: pg, migrations: try MigrationLoader.load(directory: dir, dialect: .postgres), logger: TestLog.logger)
                let b = try Migrator(database: my, migrations: try MigrationLoader.load(directory: dir, dialect: .mysql), logger: TestLog.logger)
                let differences = try await Migrator.parity(a, b)
                #expect(differences.isEmpty, "\(differences)")
                let tables = try await a.snapshot().tables
                #expect(tables.count == 19, "\(tables.keys.sorted())")
                #expect(tables["invoices"] != nil && tables["invoice_lines"] != nil)
            }
        }
    }
}
