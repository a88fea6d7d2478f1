import Foundation
import StrataDrivers
import StrataSeeds
import StrataSQL
import Testing

/// `strata seed`: validation with file:line errors, idempotent loads, prune and dry runs,
/// the seed history; the database ones on both backends.
@Suite("Catalogue seeding")
struct SeedTests {
    static let t1 = SQLTimestamp(microsecondsSinceEpoch: 1_780_000_000_123_456)
    static let t2 = SQLTimestamp(microsecondsSinceEpoch: 1_780_086_400_654_321)

    // MARK: Loading into the database

    @Test(arguments: Backend.allCases)
    func seedingTwiceChangesNothing(_ backend: Backend) async throws {
        try await withFreshDatabase(backend, migrated: true) { db, _ in
            let folder = try SeedFolder()
            defer { folder.remove() }

            let first = try await folder.seeder(db, at: Self.t1).seed(SeedKind.allCases)
            #expect(first.map(\.kind) == SeedKind.allCases)
            #expect(first.map(\.inserted) == [22, 4, 3])
            #expect(first.map(\.updated) == [0, 0, 0])
            #expect(first.map(\.unchanged) == [0, 0, 0])
            #expect(first.map(\.deactivated) == [0, 0, 0])
            #expect(first.map(\.file) == ["seeds/agent_costs.csv", "seeds/plans.json", "seeds/credit_packages.json"])
            let before = try await catalogue(db)
            #expect(before.mapValues(\.count) == ["agent_costs": 22, "plans": 4, "credit_packages": 3])

            let second = try await folder.seeder(db, at: Self.t2).seed(SeedKind.allCases)
            #expect(second.map(\.unchanged) == [22, 4, 3])
            #expect(second.allSatisfy { $0.changedNothing })
            let after = try await catalogue(db)
            #expect(after == before, "the second run left every row, timestamps included, as it was")

            let cost = try await db.withConnection { conn in
                try conn.queryFirst("SELECT * FROM agent_costs WHERE agent_key = \("incident_summarizer")")
            }
            #expect(try cost?.decode("display_name", as: String.self) == "Incident Summarizer, On-Call Edition")
            #expect(try cost?.decode("credits_per_run", as: Int64.self) == 45)
            #expect(try cost?.decode("active", as: Bool.self) == true)
            #expect(try cost?.decode("created_at", as: SQLTimestamp.self) == Self.t1)
            #expect(try cost?.decode("updated_at", as: SQLTimestamp.self) == Self.t1)

            let enterprise = try await db.withConnection { conn in
                try conn.queryFirst("SELECT features FROM plans WHERE code = \("enterprise")")
            }
            let features = try JSONReader.value(in: try #require(enterprise).decode("features", as: String.self))
            #expect(features == .object(["seats": .integer(50), "agents": .string("all"), "support": .string("dedicated"),
                                         "audit_log_days": .integer(365), "webhooks": .bool(true), "sso": .bool(true)]))
        }
    }

    @Test(arguments: Backend.allCases)
    func historyHasOneRowPerCatalogueAndRun(_ backend: Backend) async throws {
        try await withFreshDatabase(backend, migrated: true) { db, _ in
            let folder = try SeedFolder()
            defer { folder.remove() }
            try await folder.seeder(db, at: Self.t1).seed(SeedKind.allCases)
            try await folder.seeder(db, at: Self.t2).seed(SeedKind.allCases, dryRun: true)
            try await folder.seeder(db, at: Self.t2).seed([.plans])

            let rows = try #require(try await history(db))
            #expect(rows.count == 4, "three for the first run, none for the dry run, one for plans")
            let seeds = try rows.map { try $0.decode("seed", as: String.self) }
            #expect(seeds == ["agent-costs", "credit-packages", "plans", "plans"])
            for row in rows {
                let kind = try #require(SeedKind(rawValue: try row.decode("seed")))
                #expect(try row.decode("file", as: String.self) == "seeds/\(kind.fileName)")
                #expect(try row.decode("checksum", as: String.self) == sha256(folder.url.appendingPathComponent(kind.fileName)))
                #expect(try row.decode("dry_run", as: Bool.self) == false)
                #expect(try row.decode("applied_by", as: String.self) == "seed-tests")
            }
            let first = rows[0]
            #expect(try first.decode("inserted", as: Int64.self) == 22)
            #expect(try first.decode("updated", as: Int64.self) == 0)
            #expect(try first.decode("unchanged", as: Int64.self) == 0)
            #expect(try first.decode("deactivated", as: Int64.self) == 0)
            #expect(try first.decode("row_count", as: Int64.self) == 22)
            #expect(try first.decode("applied_at", as: SQLTimestamp.self) == Self.t1)
            let last = rows[3]
            #expect(try last.decode("unchanged", as: Int64.self) == 4)
            #expect(try last.decode("applied_at", as: SQLTimestamp.self) == Self.t2)
            let runIDs = try Set(rows.map { try $0.decode("run_id", as: String.self) })
            #expect(runIDs.count == 2, "the catalogues of one run share its run id")
        }
    }

    @Test(arguments: Backend.allCases)
    func anEditedRowIsUpdatedAndOnlyIt(_ backend: Backend) async throws {
        try await withFreshDatabase(backend, migrated: true) { db, _ in
            let folder = try SeedFolder()
            defer { folder.remove() }
            try await folder.seeder(db, at: Self.t1).seed(SeedKind.allCases)

            try folder.replaceLine(.agentCosts, 3, with: "sql_optimizer,SQL Optimizer,75,true")
            // CRLF line ends (RFC 4180's own) read the same.
            try folder.edit(.agentCosts) { $0.replacingOccurrences(of: "\n", with: "\r\n") }
            // The same plans written differently: key order, spacing, 50 as 50.0.
            try folder.write(.plans, try reformattedPlans(folder))
            try folder.edit(.creditPackages) { $0.replacingOccurrences(of: "\"price_minor\": 4500", with: "\"price_minor\": 3900") }

            let reports = try await folder.seeder(db, at: Self.t2).seed(SeedKind.allCases)
            #expect(reports.map(\.updated) == [1, 0, 1])
            #expect(reports.map(\.unchanged) == [21, 4, 2])
            #expect(reports.map(\.inserted) == [0, 0, 0])

            let costs = try await db.withConnection { conn in
                try conn.query("SELECT agent_key, credits_per_run, created_at, updated_at FROM agent_costs")
            }
            for row in costs {
                let key: String = try row.decode("agent_key")
                #expect(try row.decode("created_at", as: SQLTimestamp.self) == Self.t1)
                #expect(try row.decode("updated_at", as: SQLTimestamp.self) == (key == "sql_optimizer" ? Self.t2 : Self.t1), "\(key)")
                if key == "sql_optimizer" { #expect(try row.decode("credits_per_run", as: Int64.self) == 75) }
            }

            // A changed feature is a change (the file is the reformatted one, compact inside).
            try folder.edit(.plans) { $0.replacingOccurrences(of: "\"sso\":true", with: "\"sso\":false") }
            let plans = try await folder.seeder(db, at: Self.t2).seed([.plans])
            #expect(plans.map(\.updated) == [1])
        }
    }

    @Test(arguments: Backend.allCases)
    func pruneDeactivatesRowsTheFileNoLongerHas(_ backend: Backend) async throws {
        try await withFreshDatabase(backend, migrated: true) { db, _ in
            let folder = try SeedFolder()
            defer { folder.remove() }
            try await folder.seeder(db, at: Self.t1).seed(SeedKind.allCases)

            let removed = ["bug_triager", "data_pipeline_debugger"]
            try folder.edit(.agentCosts) { text in
                text.split(separator: "\n", omittingEmptySubsequences: false)
                    .filter { line in !removed.contains { line.hasPrefix($0 + ",") } }
                    .joined(separator: "\n")
            }

            let withoutPrune = try await folder.seeder(db, at: Self.t2).seed([.agentCosts])
            #expect(withoutPrune.map(\.deactivated) == [0])
            #expect(withoutPrune.map(\.unchanged) == [20])

            let pruneDryRun = try await folder.seeder(db, at: Self.t2).seed([.agentCosts], dryRun: true, prune: true)
            #expect(pruneDryRun.map(\.deactivated) == [2])
            #expect(try await activeAgents(db).count == 22, "a dry run deactivates nothing")

            let pruned = try await folder.seeder(db, at: Self.t2).seed([.agentCosts], prune: true)
            #expect(pruned.map(\.deactivated) == [2])
            #expect(pruned.map(\.unchanged) == [20])
            #expect(pruned.map(\.updated) == [0])

            let rows = try await db.withConnection { conn in
                try conn.query("SELECT agent_key, active, updated_at FROM agent_costs")
            }
            #expect(rows.count == 22, "deactivated, never deleted")
            for row in rows {
                let key: String = try row.decode("agent_key")
                let gone = removed.contains(key)
                #expect(try row.decode("active", as: Bool.self) == !gone, "\(key)")
                #expect(try row.decode("updated_at", as: SQLTimestamp.self) == (gone ? Self.t2 : Self.t1), "\(key)")
            }

            let again = try await folder.seeder(db, at: Self.t2).seed([.agentCosts], prune: true)
            #expect(again.map(\.deactivated) == [0], "inactive rows stay as they are")

            // Back in the file, they come back active: an update.
            try folder.write(.agentCosts, try String(contentsOf: projectRoot.appendingPathComponent("seeds/agent_costs.csv"), encoding: .utf8))
            let restored = try await folder.seeder(db, at: Self.t2).seed([.agentCosts], prune: true)
            #expect(restored.map(\.updated) == [2])
            #expect(try await activeAgents(db).count == 22)
        }
    }

    @Test(arguments: Backend.allCases)
    func dryRunWritesNothing(_ backend: Backend) async throws {
        try await withFreshDatabase(backend, migrated: true) { db, _ in
            let folder = try SeedFolder()
            defer { folder.remove() }

            let reports = try await folder.seeder(db, at: Self.t1).seed(SeedKind.allCases, dryRun: true)
            #expect(reports.map(\.inserted) == [22, 4, 3])
            #expect(reports.allSatisfy { $0.dryRun })
            #expect(try await catalogue(db).values.allSatisfy { $0.isEmpty })
            #expect(try await history(db) == nil, "a dry run does not even create the history table")

            try await folder.seeder(db, at: Self.t1).seed(SeedKind.allCases)
            let loaded = try await catalogue(db)
            try folder.replaceLine(.agentCosts, 2, with: "code_reviewer,Code Reviewer,41,true")
            let edited = try await folder.seeder(db, at: Self.t2).seed(SeedKind.allCases, dryRun: true)
            #expect(edited.map(\.updated) == [1, 0, 0])
            #expect(edited.map(\.unchanged) == [21, 4, 3])
            #expect(try await catalogue(db) == loaded)
            #expect(try await history(db)?.count == 3)
        }
    }

    @Test(arguments: Backend.allCases)
    func oneBadRowLoadsNothingAndIsNamed(_ backend: Backend) async throws {
        try await withFreshDatabase(backend, migrated: true) { db, _ in
            for corruption in Corruption.all {
                let folder = try SeedFolder()
                defer { folder.remove() }
                let expected = try corruption.apply(folder)
                let error = await #expect(throws: SeedError.self, "\(corruption.name)") {
                    try await folder.seeder(db, at: Self.t1).seed(SeedKind.allCases)
                }
                #expect(error?.problems.count == 1, "\(corruption.name): \(error?.problems ?? [])")
                #expect(error?.description.hasPrefix(expected.location) == true,
                        "\(corruption.name): \(error?.description ?? "no error"), expected \(expected.location)")
                #expect(error?.description.contains(expected.message) == true,
                        "\(corruption.name): \(error?.description ?? "no error"), expected \(expected.message)")
                #expect(try await catalogue(db).values.allSatisfy { $0.isEmpty }, "\(corruption.name) loaded something")
                #expect(try await history(db) == nil, "\(corruption.name)")
            }
        }
    }

    @Test(arguments: Backend.allCases)
    func everyProblemOfEveryFileIsReported(_ backend: Backend) async throws {
        try await withFreshDatabase(backend, migrated: true) { db, _ in
            let folder = try SeedFolder()
            defer { folder.remove() }
            try folder.replaceLine(.agentCosts, 9, with: "dependency_updater,Dependency Updater,-20,true")
            try folder.replaceLine(.agentCosts, 15, with: "accessibility_checker,Accessibility Checker,30,yes")
            try folder.edit(.plans) { $0.replacingOccurrences(of: "\"billing_interval\": \"month\"", with: "\"billing_interval\": \"weekly\"") }
            let error = await #expect(throws: SeedError.self) {
                try await folder.seeder(db, at: Self.t1).seed(SeedKind.allCases)
            }
            let problems = error?.problems.map(\.description) ?? []
            #expect(problems.count == 6)
            #expect(problems.first == "seeds/agent_costs.csv:9: credits_per_run must be an integer from 1 to 1000000, not \"-20\"")
            #expect(problems.dropFirst().first == "seeds/agent_costs.csv:15: active must be true or false, not \"yes\"")
            #expect(problems.dropFirst(2).allSatisfy { $0.hasPrefix("seeds/plans.json:") && $0.contains("billing_interval must be one of month, year") })
            #expect(error?.description.hasSuffix("(and 5 more problems)") == true)
            #expect(try await catalogue(db).values.allSatisfy { $0.isEmpty })
        }
    }

    @Test(arguments: Backend.allCases)
    func aDatabaseErrorRollsEveryCatalogueBack(_ backend: Backend) async throws {
        try await withFreshDatabase(backend, migrated: true) { db, _ in
            let folder = try SeedFolder()
            defer { folder.remove() }
            // A package under another id already holds a provider price the file uses:
            // the unique key fails the third catalogue after the first two were written.
            try await db.withConnection { conn in
                try conn.execute("""
                    INSERT INTO credit_packages (package_id, name, credits, price_minor, currency, provider_price_id,
                        active, created_at, updated_at)
                    VALUES ('legacy_5000', 'Legacy', 5000, 5000, 'USD', 'price_5000_credits', \(true), \(Self.t1), \(Self.t1))
                    """)
            }
            let error = await #expect(throws: DatabaseError.self) {
                try await folder.seeder(db, at: Self.t1).seed(SeedKind.allCases)
            }
            #expect(error?.category == .uniqueViolation)
            let tables = try await catalogue(db)
            #expect(tables["agent_costs"]?.count == 0)
            #expect(tables["plans"]?.count == 0)
            #expect(tables["credit_packages"]?.count == 1)
            #expect(try await history(db)?.count == 0)
        }
    }

    @Test(arguments: Backend.allCases)
    func aFileWithoutActiveKeepsTheStoredValue(_ backend: Backend) async throws {
        try await withFreshDatabase(backend, migrated: true) { db, _ in
            let folder = try SeedFolder()
            defer { folder.remove() }
            try await folder.seeder(db, at: Self.t1).seed(SeedKind.allCases)
            try await db.withConnection { conn in
                try conn.execute("UPDATE agent_costs SET active = \(false) WHERE agent_key = \("bug_triager")")
                try conn.execute("UPDATE plans SET active = \(false) WHERE code = \("starter")")
            }

            // The CSV without its active column, one new agent; the plans without "active".
            try folder.edit(.agentCosts) { text in
                text.split(separator: "\n", omittingEmptySubsequences: false).map { line in
                    line.isEmpty ? "" : line.split(separator: ",", omittingEmptySubsequences: false).dropLast().joined(separator: ",")
                }.joined(separator: "\n") + "release_noter,Release Noter,15\n"
            }
            try folder.edit(.plans) { $0.replacingOccurrences(of: "},\n    \"active\": true", with: "}") }
            try folder.edit(.creditPackages) { $0.replacingOccurrences(of: "\",\n    \"active\": true", with: "\"") }
            #expect(try !folder.text(.agentCosts).contains("true"))

            let reports = try await folder.seeder(db, at: Self.t2).seed(SeedKind.allCases)
            #expect(reports.map(\.inserted) == [1, 0, 0])
            #expect(reports.map(\.updated) == [0, 0, 0], "a column the file leaves out changes nothing")
            #expect(reports.map(\.unchanged) == [22, 4, 3])
            let inactive = try await db.withConnection { conn in
                try conn.query("SELECT agent_key FROM agent_costs WHERE active = \(false)").map { try $0.decode("agent_key", as: String.self) }
                    + conn.query("SELECT code FROM plans WHERE active = \(false)").map { try $0.decode("code", as: String.self) }
            }
            #expect(inactive == ["bug_triager", "starter"], "deactivated rows stay deactivated")
            #expect(try await activeAgents(db).contains("release_noter"), "a new row takes the column's default")

            // An empty field gives no value either; a value given is applied.
            try folder.write(.agentCosts, """
                agent_key,display_name,credits_per_run,active
                bug_triager,Bug Triager,25,
                release_noter,Release Noter,15,false

                """)
            let again = try await folder.seeder(db, at: Self.t2).seed([.agentCosts])
            #expect(again.map(\.updated) == [1])
            #expect(again.map(\.unchanged) == [1])
            #expect(try await activeAgents(db).count == 21)
        }
    }

    // MARK: Concurrent runs

    /// Eight runs at once, as eight deploy pipelines would start them, each with its own
    /// connection, over several rounds that start from an empty catalogue and no history.
    ///
    /// Every run is recorded, the seven that find nothing to do included (who ran the
    /// seed, and when, is what the history is for): 8 runs of 3 catalogues are 24 rows,
    /// one run with every row inserted and seven with every row unchanged.
    @Test(arguments: Backend.allCases)
    func concurrentSeedsLoadOnceAndRecordEveryRun(_ backend: Backend) async throws {
        try await ConnectionHungryTests.oneAtATime { try await withFreshDatabase(backend, migrated: true, maxConnections: 1) { db, url in
            let folder = try SeedFolder()
            defer { folder.remove() }
            try await folder.seeder(db, at: Self.t1).seed(SeedKind.allCases)
            let expected = try await catalogueByKey(db)
            #expect(expected.mapValues(\.count) == ["agent_costs": 22, "plans": 4, "credit_packages": 3])

            let runs = 8
            for round in 1...4 {
                try await emptyCatalogue(db)
                let outcomes = try await concurrently(runs) { i -> Result<[SeedReport], any Error> in
                    let own = Database(url: url, maxConnections: 1, logger: TestLog.logger)
                    let seeder = CatalogueSeeder(database: own, directory: folder.url, directoryLabel: "seeds",
                                                 logger: TestLog.logger, clock: { Self.t1 }, appliedBy: "runner-\(i)")
                    let outcome: Result<[SeedReport], any Error>
                    do { outcome = .success(try await seeder.seed(SeedKind.allCases)) } catch { outcome = .failure(error) }
                    await own.close()
                    return outcome
                }
                let failures = outcomes.compactMap { if case .failure(let e) = $0 { "\(e)" } else { nil } }
                #expect(failures.isEmpty, "round \(round): \(failures.count) of \(runs) failed: \(failures)")
                let reports = outcomes.compactMap { try? $0.get() }
                #expect(reports.filter { $0.map(\.inserted) == [22, 4, 3] }.count == 1, "round \(round): one run loads")
                #expect(reports.filter { $0.map(\.unchanged) == [22, 4, 3] }.count == runs - 1, "round \(round): the others find it done")
                #expect(try await catalogueByKey(db) == expected, "round \(round)")

                let rows = try #require(try await history(db))
                #expect(rows.count == 3 * runs, "round \(round): one row per catalogue and run")
                var byRun: [String: [Row]] = [:]
                for row in rows { byRun[try row.decode("run_id"), default: []].append(row) }
                #expect(byRun.count == runs, "round \(round)")
                var loaders: [String] = []
                for (_, catalogues) in byRun {
                    #expect(try catalogues.map { try $0.decode("seed", as: String.self) } == ["agent-costs", "credit-packages", "plans"])
                    #expect(try Set(catalogues.map { try $0.decode("applied_by", as: String.self) }).count == 1)
                    let inserted = try catalogues.map { try $0.decode("inserted", as: Int64.self) }
                    let unchanged = try catalogues.map { try $0.decode("unchanged", as: Int64.self) }
                    #expect(inserted == [22, 3, 4] && unchanged == [0, 0, 0] || inserted == [0, 0, 0] && unchanged == [22, 3, 4],
                            "round \(round): inserted \(inserted), unchanged \(unchanged)")
                    if inserted != [0, 0, 0] { loaders.append(try catalogues[0].decode("applied_by")) }
                    for row in catalogues {
                        #expect(try row.decode("updated", as: Int64.self) == 0)
                        #expect(try row.decode("deactivated", as: Int64.self) == 0)
                    }
                }
                #expect(loaders.count == 1, "round \(round): \(loaders)")
                let runners = try Set(rows.map { try $0.decode("applied_by", as: String.self) })
                #expect(runners == Set((0..<runs).map { "runner-\($0)" }))
            }
        } }
    }

    /// A writer that does not take the seed lock (a hand-run script, an older Strata)
    /// adds a row the seed is about to insert: the seed waits for it, then updates it.
    @Test(arguments: Backend.allCases)
    func aRowAddedMeanwhileByAnotherWriterIsUpdated(_ backend: Backend) async throws {
        try await withFreshDatabase(backend, migrated: true, maxConnections: 1) { db, url in
            let folder = try SeedFolder()
            defer { folder.remove() }
            let other = Database(url: url, maxConnections: 1, logger: TestLog.logger)
            let inserted = AsyncStream<Void>.makeStream()
            async let writer: Void = other.withConnection { conn in
                try conn.beginTransaction()
                try conn.execute("""
                    INSERT INTO agent_costs (agent_key, display_name, credits_per_run, active, created_at, updated_at)
                    VALUES (\("code_reviewer"), \("Old Reviewer"), \(99), \(true), \(Self.t1), \(Self.t1))
                    """)
                inserted.continuation.yield()
                // Long enough for the seed to read the table and reach this row's key.
                Thread.sleep(forTimeInterval: 1.5)
                try conn.commitTransaction()
            }
            for await _ in inserted.stream { break }
            let reports = try await folder.seeder(db, at: Self.t2).seed([.agentCosts])
            try await writer
            await other.close()
            #expect(reports.map(\.inserted) == [21])
            #expect(reports.map(\.updated) == [1])
            let row = try await db.withConnection { conn in
                try conn.queryFirst("SELECT * FROM agent_costs WHERE agent_key = \("code_reviewer")")
            }
            #expect(try row?.decode("display_name", as: String.self) == "Code Reviewer")
            #expect(try row?.decode("credits_per_run", as: Int64.self) == 40)
            #expect(try row?.decode("updated_at", as: SQLTimestamp.self) == Self.t2)
            #expect(try await catalogue(db)["agent_costs"]?.count == 22)
        }
    }

    @Test(arguments: Backend.allCases)
    func aSeedWaitsForTheLockAndGivesUpAfterItsTimeout(_ backend: Backend) async throws {
        try await withFreshDatabase(backend, migrated: true, maxConnections: 1) { db, url in
            let folder = try SeedFolder()
            defer { folder.remove() }
            // Another run's lock, held by a session of its own (a pool of one keeps it open).
            let other = Database(url: url, maxConnections: 1, logger: TestLog.logger)
            let lockName = "strata:\(url.database):\(CatalogueSeeder.historyTable)"
            #expect(try await other.withConnection { try $0.tryLock(name: lockName) })

            let seeder = CatalogueSeeder(database: db, directory: folder.url, directoryLabel: "seeds", logger: TestLog.logger,
                                         clock: { Self.t1 }, appliedBy: "seed-tests", lockTimeout: .milliseconds(300))
            let started = ContinuousClock.now
            let error = await #expect(throws: DatabaseError.self) { try await seeder.seed(SeedKind.allCases) }
            #expect(error?.category == .lockTimeout)
            #expect(error?.description.contains("another seed run held the lock") == true, "\(error.map { "\($0)" } ?? "")")
            #expect(ContinuousClock.now - started >= .milliseconds(300))
            #expect(try await history(db) == nil, "nothing is created without the lock")
            #expect(try await catalogue(db).values.allSatisfy { $0.isEmpty })

            try await other.withConnection { try $0.releaseLock(name: lockName) }
            await other.close()
            #expect(try await seeder.seed(SeedKind.allCases).map(\.inserted) == [22, 4, 3])
        }
    }

    /// The same through the built CLI: eight `strata seed` processes at once, all exit 0.
    @Test(arguments: Backend.allCases)
    func concurrentSeedCommandsAllSucceed(_ backend: Backend) async throws {
        try await ConnectionHungryTests.oneAtATime { try await withFreshDatabase(backend, migrated: true, maxConnections: 1) { db, url in
            let runs = 8
            for round in 1...2 {
                try await emptyCatalogue(db)
                let results = try await concurrently(runs) { _ in
                    try await StrataCLI.run(["seed", "--json", "--seeds", projectRoot.appendingPathComponent("seeds").path],
                                            environment: ["DATABASE_URL": url.urlString])
                }
                let failed = results.filter { $0.status != 0 }.map { "\($0.status): \($0.stderr)" }
                #expect(failed.isEmpty, "round \(round): \(failed)")
                #expect(try await catalogue(db).mapValues(\.count) == ["agent_costs": 22, "plans": 4, "credit_packages": 3])
                #expect(try await history(db)?.count == 3 * runs, "round \(round)")
            }
        } }
    }

    /// SIGINT or SIGTERM during `strata seed` cancels the statement running on the server
    /// (here an insert waiting for a row another transaction holds), rolls the whole load
    /// back, releases the lock and exits 130 / 143.
    @Test(arguments: Backend.allCases, [SIGINT, SIGTERM])
    func aSignalStopsASeedAndWritesNothing(_ backend: Backend, _ signo: Int32) async throws {
        try await withFreshDatabase(backend, migrated: true) { db, url in
            // Another transaction inserts the seed's first agent and keeps its lock for a while.
            let holder = Task.detached {
                try await db.withConnection { conn in
                    try conn.executeUnprepared("BEGIN")
                    try conn.execute("INSERT INTO agent_costs (agent_key, display_name, credits_per_run, active, created_at, updated_at) VALUES ('code_reviewer', 'held', 1, \(true), \(SQLTimestamp(Date())), \(SQLTimestamp(Date())))")
                    Thread.sleep(forTimeInterval: 15)
                    try conn.executeUnprepared("ROLLBACK")
                }
            }
            try await Task.sleep(for: .milliseconds(500))
            let (process, out, err) = try StrataCLI.start(["seed", "--seeds", projectRoot.appendingPathComponent("seeds").path],
                                                          environment: ["DATABASE_URL": url.urlString])
            try await Task.sleep(for: .seconds(2))
            let sent = ContinuousClock.now
            kill(process.processIdentifier, signo)
            let r = await StrataCLI.finish(process, out, err)
            #expect(r.status == 128 + signo, "\(r.stderr)")
            // Long before the holder lets go (had the cancel not reached the server, the seed
            // would have waited for it and then loaded everything: the check below).
            #expect(ContinuousClock.now - sent < .seconds(10))
            #expect(r.stderr.contains("stopped by \(signo == SIGINT ? "SIGINT" : "SIGTERM")"), "\(r.stderr)")
            try await holder.value
            #expect(try await catalogue(db).mapValues(\.count) == ["agent_costs": 0, "plans": 0, "credit_packages": 0])
            #expect(try await history(db)?.count ?? 0 == 0)
            // The lock is free again: the next seed loads everything.
            let again = try await StrataCLI.run(["seed", "--seeds", projectRoot.appendingPathComponent("seeds").path],
                                                environment: ["DATABASE_URL": url.urlString])
            #expect(again.status == 0, "\(again.stderr)")
            #expect(try await catalogue(db).mapValues(\.count) == ["agent_costs": 22, "plans": 4, "credit_packages": 3])
        }
    }

    // MARK: Validation without a database

    @Test func theProjectSeedsAreValid() throws {
        let db = Database(url: try DatabaseURL("postgres://nobody@127.0.0.1:1/none"), maxConnections: 1, logger: TestLog.logger)
        let seeder = CatalogueSeeder(database: db, directory: projectRoot.appendingPathComponent("seeds"),
                                     directoryLabel: "seeds", logger: TestLog.logger)
        let counts = try seeder.validate(SeedKind.allCases)
        #expect(counts.map(\.kind) == SeedKind.allCases)
        #expect(counts.map(\.rows) == [22, 4, 3])
    }

    /// Found by fuzz-seed-readers: reading an empty file with `Data(contentsOf:)` leaked
    /// 4 KB on Linux (LeakSanitizer); the message must name each file all the same.
    @Test func emptyFilesAreNamed() throws {
        let folder = try SeedFolder()
        defer { folder.remove() }
        try folder.write(.agentCosts, "")
        try folder.write(.creditPackages, "")
        let db = Database(url: try DatabaseURL("postgres://nobody@127.0.0.1:1/none"), maxConnections: 1, logger: TestLog.logger)
        let error = #expect(throws: SeedError.self) {
            try CatalogueSeeder(database: db, directory: folder.url, directoryLabel: "seeds", logger: TestLog.logger)
                .validate(SeedKind.allCases)
        }
        #expect(error?.problems.map(\.description) == [
            "seeds/agent_costs.csv: has no rows (a catalogue is never empty; deactivate rows with \"active\" instead)",
            "seeds/credit_packages.json:1: expected the file to be a JSON array of objects ('['), found the end of the file",
        ])
    }

    @Test func csvFollowsRFC4180() throws {
        let text = "\u{FEFF}a,b,c\r\n1,\"x, y\",\"say \"\"hi\"\"\"\r\n\r\n2,\"two\r\nlines\",\r\n3,,\"\""
        let records = try CSVReader.records(in: text)
        #expect(records == [
            CSVRecord(line: 1, fields: ["a", "b", "c"]),
            CSVRecord(line: 2, fields: ["1", "x, y", "say \"hi\""]),
            CSVRecord(line: 4, fields: ["2", "two\r\nlines", ""]),
            CSVRecord(line: 6, fields: ["3", "", ""]),
        ])
        #expect(try CSVReader.records(in: "a\nb\n") == [CSVRecord(line: 1, fields: ["a"]), CSVRecord(line: 2, fields: ["b"])])
    }

    @Test(arguments: [
        ("a,b\n1,\"open\n2,3\n", 2, "quoted field never closed"),
        ("a,b\n1,\"x\"y\n", 2, "text after the closing quote"),
        ("a,b\n1,2\n3,x\"y\n", 3, "a quote inside an unquoted field"),
        ("a,b\n1,2\r3,4\n", 2, "carriage return"),
    ])
    func csvSyntaxErrorsNameTheirLine(_ text: String, _ line: Int, _ message: String) {
        let error = #expect(throws: TextSyntaxError.self) { try CSVReader.records(in: text) }
        #expect(error?.line == line)
        #expect(error?.message.contains(message) == true, "\(error?.message ?? "")")
    }

    @Test func jsonRecordsKeepTheirLines() throws {
        let text = """
            [
              {"code": "a", "n": -12, "x": 1.5e2,
               "s": "tab\\t\\u00e9\\ud83d\\ude80 \\"q\\"", "o": {"k": [true, false, null]}},

              {
                "code": "b"
              }
            ]
            """
        let records = try JSONReader.records(in: text)
        #expect(records.map(\.line) == [2, 5])
        #expect(records[0].fields.map(\.name) == ["code", "n", "x", "s", "o"])
        #expect(records[0].fields.map(\.line) == [2, 2, 2, 3, 3])
        #expect(records[0].fields[1].value == .integer(-12))
        #expect(records[0].fields[2].value == .number(150))
        #expect(records[0].fields[3].value == .string("tab\té🚀 \"q\""))
        #expect(records[0].fields[4].value == .object(["k": .array([.bool(true), .bool(false), .null])]))
        #expect(records[1].fields == [JSONRecord.Field(name: "code", line: 6, value: .string("b"))])
    }

    @Test(arguments: [
        ("[\n {\"a\": 1},\n]", 3, "expected an object"),
        ("[\n {\"a\": 1}\n {\"a\": 2}\n]", 3, "',' or ']'"),
        ("[\n {\"a\": 1,\n  \"a\": 2}\n]", 3, "duplicate field \"a\" in one object (first on line 2)"),
        ("[\n {\"a\": 01}\n]", 2, "leading zero"),
        ("[\n {\"a\": 'x'}\n]", 2, "expected a value"),
        ("{\"a\": 1}", 1, "array of objects"),
        ("[\n {\"a\": \"x\n\"}\n]", 2, "string never closed"),
        ("[\n {\"a\": [1, 2}\n]", 2, "',' or ']' in an array"),
    ])
    func jsonSyntaxErrorsNameTheirLine(_ text: String, _ line: Int, _ message: String) {
        let error = #expect(throws: TextSyntaxError.self) { try JSONReader.records(in: text) }
        #expect(error?.line == line)
        #expect(error?.message.contains(message) == true, "\(error?.message ?? "")")
    }

    @Test func jsonComparesByMeaning() throws {
        let a = try JSONReader.value(in: #"{"seats": 3, "tags": ["x", 1.0], "sso": true}"#)
        let b = try JSONReader.value(in: #"{"sso":true,"tags":["x",1],"seats":3.0}"#)
        #expect(a == b)
        #expect(a.canonicalText == #"{"seats":3,"sso":true,"tags":["x",1.0]}"#)
        #expect(try JSONReader.value(in: "1") != JSONReader.value(in: "true"))
        #expect(try JSONReader.value(in: #"{"a": 1}"#) != JSONReader.value(in: #"{"a": 1, "b": null}"#))
        #expect(try JSONReader.value(in: a.canonicalText) == a)
        #expect(JSONValue.string("a\"b\\c\n\u{1}").canonicalText == #""a\"b\\c\n\u0001""#)
        // Escapes between non-ASCII text, a combining mark right after a quote, and text
        // with nothing to escape.
        #expect(JSONValue.string("é\"\u{301}x\u{1F}\tgrüße").canonicalText == "\"é\\\"\u{301}x\\u001f\\tgrüße\"")
        #expect(JSONValue.string("plain — ünïcödé 🚀").canonicalText == "\"plain — ünïcödé 🚀\"")
        #expect(JSONValue.string("").canonicalText == "\"\"")
    }
}

/// A copy of the project's seeds in a temporary folder, to edit.
private struct SeedFolder: Sendable {
    let url: URL

    init() throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent(uniqueName("strata_seeds"))
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        for kind in SeedKind.allCases {
            try FileManager.default.copyItem(at: projectRoot.appendingPathComponent("seeds").appendingPathComponent(kind.fileName),
                                             to: url.appendingPathComponent(kind.fileName))
        }
    }

    func seeder(_ db: Database, at time: SQLTimestamp) -> CatalogueSeeder {
        CatalogueSeeder(database: db, directory: url, directoryLabel: "seeds", logger: TestLog.logger,
                        clock: { time }, appliedBy: "seed-tests")
    }

    func text(_ kind: SeedKind) throws -> String {
        try String(contentsOf: url.appendingPathComponent(kind.fileName), encoding: .utf8)
    }

    func write(_ kind: SeedKind, _ text: String) throws {
        try Data(text.utf8).write(to: url.appendingPathComponent(kind.fileName))
    }

    func edit(_ kind: SeedKind, _ transform: (String) -> String) throws {
        let before = try text(kind)
        let after = transform(before)
        guard after != before else { throw EditChangedNothing(file: kind.fileName) }
        try write(kind, after)
    }

    /// Replaces the 1-based line `number`.
    func replaceLine(_ kind: SeedKind, _ number: Int, with line: String) throws {
        try edit(kind) { text in
            var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
            lines[number - 1] = line
            return lines.joined(separator: "\n")
        }
    }

    /// The 1-based line of the first line containing `fragment`.
    func line(_ kind: SeedKind, containing fragment: String) throws -> Int {
        let lines = try text(kind).split(separator: "\n", omittingEmptySubsequences: false)
        return try #require(lines.firstIndex { $0.contains(fragment) }) + 1
    }

    func remove() {
        try? FileManager.default.removeItem(at: url)
    }
}

/// A test's edit of a seed file matched nothing: the test itself is out of date.
private struct EditChangedNothing: Error, CustomStringConvertible {
    var file: String
    var description: String { "the edit of \(file) changed nothing" }
}

/// One bad row among many, and where the error must point.
private struct Corruption: Sendable {
    var name: String
    /// Breaks the folder; returns the expected `file:line:` and part of the message.
    var apply: @Sendable (SeedFolder) throws -> (location: String, message: String)

    static let all: [Corruption] = [
        Corruption(name: "negative cost") { folder in
            try folder.replaceLine(.agentCosts, 9, with: "dependency_updater,Dependency Updater,-20,true")
            return ("seeds/agent_costs.csv:9:", "credits_per_run must be an integer from 1 to 1000000, not \"-20\"")
        },
        Corruption(name: "cost too high") { folder in
            try folder.replaceLine(.agentCosts, 21, with: "contract_reviewer,Contract Reviewer,1500000,true")
            return ("seeds/agent_costs.csv:21:", "credits_per_run must be an integer from 1 to 1000000")
        },
        Corruption(name: "duplicate key") { folder in
            try folder.replaceLine(.agentCosts, 12, with: "code_reviewer,Log Analyzer,35,true")
            return ("seeds/agent_costs.csv:12:", "duplicate agent_key \"code_reviewer\" (also on line 2)")
        },
        Corruption(name: "unknown column") { folder in
            try folder.replaceLine(.agentCosts, 1, with: "agent_key,display_name,credits_per_run,colour")
            return ("seeds/agent_costs.csv:1:", "unknown column \"colour\"")
        },
        Corruption(name: "malformed quoted field") { folder in
            try folder.replaceLine(.agentCosts, 14, with: "performance_profiler,\"Performance \"Profiler\",90,true")
            return ("seeds/agent_costs.csv:14:", "text after the closing quote")
        },
        Corruption(name: "missing field") { folder in
            try folder.replaceLine(.agentCosts, 16, with: "release_notes_writer,Release Notes Writer,20")
            return ("seeds/agent_costs.csv:16:", "has 3 fields, the header has 4")
        },
        Corruption(name: "bad key") { folder in
            try folder.replaceLine(.agentCosts, 19, with: "Translation Agent,Translation Agent,25,true")
            return ("seeds/agent_costs.csv:19:", "agent_key must be 1 to 64 characters of a-z, 0-9 and _")
        },
        Corruption(name: "negative price") { folder in
            let line = try folder.line(.plans, containing: "\"price_minor\": 4900")
            try folder.edit(.plans) { $0.replacingOccurrences(of: "\"price_minor\": 4900", with: "\"price_minor\": -1") }
            return ("seeds/plans.json:\(line):", "price_minor must be an integer from 0 to")
        },
        Corruption(name: "price as text") { folder in
            let line = try folder.line(.plans, containing: "\"price_minor\": 19900")
            try folder.edit(.plans) { $0.replacingOccurrences(of: "\"price_minor\": 19900", with: "\"price_minor\": \"19900\"") }
            return ("seeds/plans.json:\(line):", "not a string")
        },
        Corruption(name: "duplicate plan code") { folder in
            let line = try folder.line(.plans, containing: "\"code\": \"starter\"") - 1
            try folder.edit(.plans) { $0.replacingOccurrences(of: "\"code\": \"starter\"", with: "\"code\": \"free\"") }
            return ("seeds/plans.json:\(line):", "duplicate code \"free\" (also on line 2)")
        },
        Corruption(name: "unknown field") { folder in
            let line = try folder.line(.creditPackages, containing: "\"credits\": 5000")
            try folder.edit(.creditPackages) {
                $0.replacingOccurrences(of: "\"credits\": 5000,", with: "\"credits\": 5000, \"colour\": \"red\",")
            }
            return ("seeds/credit_packages.json:\(line):", "unknown field \"colour\"")
        },
        Corruption(name: "missing required field") { folder in
            let line = try folder.line(.creditPackages, containing: "credits_20000") - 1
            try folder.edit(.creditPackages) {
                $0.replacingOccurrences(of: "\"provider_price_id\": \"price_20000_credits\",", with: "")
            }
            return ("seeds/credit_packages.json:\(line):", "missing required field \"provider_price_id\"")
        },
        Corruption(name: "duplicate provider price") { folder in
            try folder.edit(.creditPackages) { $0.replacingOccurrences(of: "price_20000_credits", with: "price_1000_credits") }
            let package = try folder.line(.creditPackages, containing: "credits_20000") - 1
            return ("seeds/credit_packages.json:\(package):", "duplicate provider_price_id \"price_1000_credits\"")
        },
        Corruption(name: "lower-case currency") { folder in
            let line = try folder.line(.creditPackages, containing: "price_5000_credits") - 1
            try folder.replaceLine(.creditPackages, line, with: "    \"currency\": \"usd\",")
            return ("seeds/credit_packages.json:\(line):", "currency must be three upper-case letters")
        },
        Corruption(name: "broken JSON") { folder in
            let line = try folder.line(.plans, containing: "\"code\": \"pro\"")
            try folder.edit(.plans) { $0.replacingOccurrences(of: "\"code\": \"pro\",", with: "\"code\": \"pro\"") }
            return ("seeds/plans.json:\(line + 1):", "expected ',' or '}'")
        },
    ]
}

/// Every row of the three catalogue tables, by table, in id order.
private func catalogue(_ db: Database) async throws -> [String: [[SQLValue]]] {
    try await db.withConnection { conn in
        var tables: [String: [[SQLValue]]] = [:]
        for kind in SeedKind.allCases {
            tables[kind.table] = try conn.query("SELECT * FROM \(identifier: kind.table) ORDER BY id").map(\.values)
        }
        return tables
    }
}

/// The seed history by seed and time, or `nil` when the table does not exist.
private func history(_ db: Database) async throws -> [Row]? {
    try await db.withConnection { conn -> [Row]? in
        let exists = try conn.queryFirst("""
            SELECT COUNT(*) AS n FROM information_schema.tables
            WHERE table_name = \(CatalogueSeeder.historyTable)
              AND table_schema = \(SQLQuery(unsafeSQL: conn.dialect.currentSchemaExpression))
            """)?.decode("n", as: Int64.self) ?? 0
        guard exists > 0 else { return nil }
        return try conn.query("SELECT * FROM \(identifier: CatalogueSeeder.historyTable) ORDER BY seed, applied_at")
    }
}

/// Every row of the three catalogue tables without the generated `id`, by table and natural key.
private func catalogueByKey(_ db: Database) async throws -> [String: [String: [String: SQLValue]]] {
    try await db.withConnection { conn in
        var tables: [String: [String: [String: SQLValue]]] = [:]
        for kind in SeedKind.allCases {
            var rows: [String: [String: SQLValue]] = [:]
            for row in try conn.query("SELECT * FROM \(identifier: kind.table)") {
                var values: [String: SQLValue] = [:]
                for (name, value) in zip(row.columns.names, row.values) where name != "id" { values[name] = value }
                rows[try row.decode(kind.naturalKey)] = values
            }
            tables[kind.table] = rows
        }
        return tables
    }
}

/// Empties the catalogue tables and drops the seed history, as before a first seed.
private func emptyCatalogue(_ db: Database) async throws {
    try await db.withConnection { conn in
        try conn.executeUnprepared("DROP TABLE IF EXISTS \(CatalogueSeeder.historyTable)")
        for kind in SeedKind.allCases { try conn.execute("DELETE FROM \(identifier: kind.table)") }
    }
}

/// Lets one connection-hungry test run at a time: eight runners with a connection each,
/// for both backends at once and beside the rest of the suite running in parallel, took
/// the suite past the 200 connections the test PostgreSQL then allowed.
private actor ConnectionHungryTests {
    private static let shared = ConnectionHungryTests()
    private var busy = false
    private var waiting: [CheckedContinuation<Void, Never>] = []

    static func oneAtATime<T: Sendable>(_ body: () async throws -> T) async throws -> T {
        await shared.acquire()
        do {
            let value = try await body()
            await shared.release()
            return value
        } catch {
            await shared.release()
            throw error
        }
    }

    private func acquire() async {
        guard busy else {
            busy = true
            return
        }
        await withCheckedContinuation { waiting.append($0) }
    }

    private func release() {
        if waiting.isEmpty { busy = false } else { waiting.removeFirst().resume() }
    }
}

private func concurrently<T: Sendable>(_ n: Int, _ body: @escaping @Sendable (Int) async throws -> T) async throws -> [T] {
    try await withThrowingTaskGroup(of: (Int, T).self) { group in
        for i in 0..<n { group.addTask { (i, try await body(i)) } }
        var results: [(Int, T)] = []
        for try await r in group { results.append(r) }
        return results.sorted { $0.0 < $1.0 }.map(\.1)
    }
}

private func activeAgents(_ db: Database) async throws -> [String] {
    try await db.withConnection { conn in
        try conn.query("SELECT agent_key FROM agent_costs WHERE active = \(true)").map { try $0.decode("agent_key") }
    }
}

/// plans.json with every object's keys reversed, on one line each, and integers in features as decimals.
private func reformattedPlans(_ folder: SeedFolder) throws -> String {
    guard case .array(let plans) = try JSONReader.value(in: try folder.text(.plans)) else { throw CancellationError() }
    let objects = plans.map { plan -> String in
        guard case .object(let members) = plan else { return plan.canonicalText }
        let fields = members.keys.sorted(by: >).map { key -> String in
            var value = members[key]!
            if key == "features", case .object(var features) = value, case .integer(let seats)? = features["seats"] {
                features["seats"] = .number(Double(seats))
                value = .object(features)
            }
            return "\(JSONValue.string(key).canonicalText) :  \(value.canonicalText)"
        }
        return "  {" + fields.joined(separator: " , ") + "}"
    }
    return "[\n" + objects.joined(separator: ",\n") + "\n]\n"
}

/// SHA-256 of a file, from the system's `sha256sum`: an independent check of the seeder's.
private func sha256(_ file: URL) throws -> String {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/sha256sum")
    process.arguments = [file.path]
    let pipe = Pipe()
    process.standardOutput = pipe
    try process.run()
    let output = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return String(decoding: output, as: UTF8.self).split(separator: " ").first.map(String.init) ?? ""
}
