import Foundation
import StrataBilling
@testable import StrataMigrations
import StrataSeeds
import StrataSQL
import Testing

/// The services past one server (issue 17, item 6), against the real engines that
/// `scripts/cluster` starts: a 3-node MariaDB Galera cluster, where `FOR UPDATE` does not
/// exclude a writer on another node and a certification conflict aborts one of two
/// concurrent transactions (1213, also at `COMMIT`), and a PostgreSQL hot standby, which
/// lags its primary.
@Suite("Cluster services", .serialized)
struct ClusterTests {
    // MARK: Galera

    /// 1,000 charges of one wallet at once, spread over the three nodes: the balance
    /// covers ⌊B/c⌋ of them, and exactly those succeed; the rest are refused for
    /// insufficient credits; no charge fails otherwise (a certification conflict runs the
    /// transaction again); every node's ledger verifies and agrees.
    @Test func aThousandChargesOverThreeNodesChargeExactlyWhatTheBalanceCovers() async throws {
        try await withGaleraDatabase(maxConnections: 4) { nodes, _ in
            try await Self.aThousandChargesChargeExactlyWhatTheBalanceCovers(nodes)
        }
    }

    /// The same through PgBouncer in transaction pooling, from two pools of its clients.
    @Test func aThousandChargesThroughPgBouncerChargeExactlyWhatTheBalanceCovers() async throws {
        try await withFreshDatabase(.postgres, migrated: true) { _, url in
            let pools = try (1...2).map { _ in Database(url: try Cluster.pgbouncer(database: url.database), maxConnections: 4, logger: TestLog.logger) }
            try await Self.closing(pools) { try await Self.aThousandChargesChargeExactlyWhatTheBalanceCovers(pools) }
        }
    }

    /// Behind PgBouncer the `DateStyle=ISO` Strata asks for at connect does not reach the
    /// server: a database whose DateStyle is another is refused at connect, in one line
    /// that says what to set, before anything is written; spoken to directly, the same
    /// database is used as usual (the startup options win over the database's setting).
    @Test func aDatabaseWithAnotherDateStyleIsRefusedThroughPgBouncer() async throws {
        try await withFreshDatabase(.postgres) { db, url in
            try await db.withConnection { try $0.executeUnprepared("ALTER DATABASE \(url.database) SET datestyle = 'SQL, DMY'") }
            let pooled = Database(url: try Cluster.pgbouncer(database: url.database), maxConnections: 1, logger: TestLog.logger)
            do {
                try await pooled.withConnection { _ = try $0.queryFirst("SELECT 1 AS one") }
                Issue.record("a session with DateStyle 'SQL, DMY' was used")
            } catch let error as DatabaseError {
                #expect(error.message.contains("DateStyle is 'SQL, DMY'") && error.message.contains("ALTER DATABASE"), "\(error)")
                #expect(!error.description.contains("\n"))
            }
            await pooled.close()
            let r = try await StrataCLI.run(["migrate", "up", "--migrations", projectRoot.appendingPathComponent("migrations").path],
                                            environment: ["DATABASE_URL": try Cluster.pgbouncer(database: url.database).urlString])
            #expect(r.status != 0 && r.stderr.contains("DateStyle") && r.stderr.split(separator: "\n").count == 1, "\(r.status): \(r.stderr)")
            #expect(try await db.tableNames().isEmpty, "nothing was written through the pooler")
            let direct = Database(url: url, maxConnections: 1, logger: TestLog.logger)
            let now: SQLTimestamp? = try await direct.withConnection { try $0.queryFirst("SELECT now() AS t")?.decode("t") }
            #expect(now != nil, "spoken to directly, the session is ISO")
            await direct.close()
        }
    }

    /// A URL that points at PgBouncer without saying so (no `pooler=`, the statement cache
    /// on) works: the connection finds the pooler at connect and prepares nothing by name,
    /// which would fail on the next server connection (42P05 / 26000); the lock chosen is
    /// the table lock. Charges from two pools and `migrate up`, `status` and `plan` run as
    /// through a declared one.
    @Test func anUndeclaredPgBouncerIsFoundAndItsStatementCacheTurnedOff() async throws {
        try await withFreshDatabase(.postgres, migrated: true) { _, url in
            var undeclared = try Cluster.pgbouncer(database: url.database)
            undeclared.parameters.removeAll()
            #expect(!undeclared.urlString.contains("?"), "the URL declares nothing")
            let pools = [Database(url: undeclared, maxConnections: 4, logger: TestLog.logger),
                         Database(url: undeclared, maxConnections: 4, logger: TestLog.logger)]
            try await Self.closing(pools) {
                let topology = try await pools[0].withConnection { try $0.topology() }
                #expect(topology == .transactionPooler)
                let (kind, _) = try await pools[0].withConnection { try MigrationLockChoice.kind(for: .auto, on: $0) }
                #expect(kind == .table)
                try await Self.aThousandChargesChargeExactlyWhatTheBalanceCovers(pools)
            }
            let migrations = projectRoot.appendingPathComponent("migrations").path
            for command in [["up"], ["status", "--exit-code"], ["plan"]] {
                let r = try await StrataCLI.run(["migrate"] + command + ["--migrations", migrations],
                                                environment: ["DATABASE_URL": undeclared.urlString])
                #expect(r.status == 0, "\(command): \(r.stderr)")
            }
        }
    }

    /// 1,000 charges of one wallet at once, spread over `nodes` in turn (see above).
    static func aThousandChargesChargeExactlyWhatTheBalanceCovers(_ nodes: [Database]) async throws {
        let balance: Int64 = 1_000, cost: Int64 = 3, charges = 1_000
        try await Cluster.addAgent(nodes[0], key: "galera_agent", cost: cost)
        let services = nodes.map { WalletService(database: $0, logger: TestLog.logger) }
        try await services[0].grant(customer: "g-wallet", credits: balance, reason: "cluster test", context: Cluster.context)
        let outcomes = KeyCounter()
        try await withThrowingTaskGroup(of: Void.self) { group in
            for i in 0..<charges {
                let service = services[i % services.count]
                group.addTask {
                    do {
                        try await service.charge(customer: "g-wallet", agentKey: "galera_agent", runID: "run-\(i)",
                                                 context: Cluster.context)
                        await outcomes.add("charged")
                    } catch WalletError.insufficientCredits {
                        await outcomes.add("refused")
                    } catch {
                        await outcomes.add("error: \(error)")
                    }
                }
            }
            try await group.waitForAll()
        }
        let counts = await outcomes.counts
        let covered = Int(balance / cost)
        #expect(counts == ["charged": covered, "refused": charges - covered], "\(counts)")
        for (n, service) in services.enumerated() {
            let report = try await service.verifyLedger(customer: "g-wallet")
            #expect(report.isConsistent, "node \(n + 1): \(report.problems)")
            #expect(try await service.balance(customer: "g-wallet") == balance - Int64(covered) * cost, "node \(n + 1)")
            let (rows, lowest): (Int64, Int64) = try await nodes[n].withConnection { conn in
                let row = try conn.queryFirst("""
                    SELECT COUNT(*) AS n, MIN(balance_after) AS lowest FROM credit_transactions WHERE kind = 'charge'
                    """)!
                return (try row.decode("n"), try row.decode("lowest"))
            }
            #expect(rows == Int64(covered) && lowest >= 0, "node \(n + 1): \(rows) charges, lowest balance \(lowest)")
        }
    }

    /// 500 events, received on the three nodes in turn, and two workers on each node
    /// racing for them: each event is handled once and recorded once, on every node.
    @Test func workersOnThreeNodesProcessEveryEventExactlyOnce() async throws {
        try await withGaleraDatabase(maxConnections: 4) { nodes, _ in
            try await Self.workersProcessEveryEventExactlyOnce(nodes)
        }
    }

    /// The same through PgBouncer in transaction pooling: two workers on each of two pools
    /// of its clients (`FOR UPDATE SKIP LOCKED` holds for the transaction it is in).
    @Test func workersThroughPgBouncerProcessEveryEventExactlyOnce() async throws {
        try await withFreshDatabase(.postgres, migrated: true) { _, url in
            let pools = try (1...2).map { _ in Database(url: try Cluster.pgbouncer(database: url.database), maxConnections: 4, logger: TestLog.logger) }
            try await Self.closing(pools) { try await Self.workersProcessEveryEventExactlyOnce(pools) }
        }
    }

    /// 500 events received over `nodes` in turn, two workers on each (see above).
    static func workersProcessEveryEventExactlyOnce(_ nodes: [Database]) async throws {
        let clock = ManualClock()
        let secret = "whsec_cluster_test"
        let inboxes = nodes.map { WebhookInbox(database: $0, clock: clock, logger: TestLog.logger, secret: secret) }
        let events = 500
        for i in 0..<events {
            let body = #"{"id":"evt_g_\#(i)","object":"event","type":"invoice.paid","data":{"object":{}}}"#
            _ = try await inboxes[i % inboxes.count].receive(
                provider: "stripe", payload: body,
                signatureHeader: WebhookSignature.sign(payload: body, secret: secret, at: clock.now()))
        }
        let calls = KeyCounter()
        var registry = WebhookHandlerRegistry()
        registry.register("invoice.paid") { event in await calls.add(event.reference) }
        let workers = nodes.enumerated().flatMap { n, db in
            (1...2).map { w in
                RetryWorker(id: "node\(n + 1)-w\(w)", database: db, registry: registry, clock: clock,
                            logger: TestLog.logger, random: { 0.5 })
            }
        }
        let perWorker = try await withThrowingTaskGroup(of: (String, Int, Int).self) { group in
            for worker in workers {
                group.addTask {
                    var processed = 0, refused = 0
                    while true {
                        let summary = try await worker.runDue(limit: 10)
                        refused += summary.refused + summary.unrecorded
                        if summary.claimed == 0 { break }
                        processed += summary.processed
                    }
                    return (worker.id, processed, refused)
                }
            }
            return try await group.reduce(into: [String: (Int, Int)]()) { $0[$1.0] = ($1.1, $1.2) }
        }
        #expect(perWorker.values.map(\.0).reduce(0, +) == events, "\(perWorker)")
        #expect(perWorker.values.map(\.1).reduce(0, +) == 0, "no late result was refused: \(perWorker)")
        #expect(Set(perWorker.filter { $0.value.0 > 0 }.keys.map { $0.prefix(5) }).count == nodes.count,
                "every node's workers took a share: \(perWorker)")
        let counts = await calls.counts
        #expect(counts.count == events && counts.values.allSatisfy { $0 == 1 },
                "handled more than once: \(counts.filter { $0.value != 1 }.prefix(5))")
        for (n, db) in nodes.enumerated() {
            let (processed, attempts): (Int64, Int64) = try await db.withConnection { conn in
                let p: Int64 = try conn.queryFirst("SELECT COUNT(*) AS n FROM webhook_events WHERE state = 'processed'")!.decode("n")
                let a: Int64 = try conn.queryFirst("SELECT COUNT(*) AS n FROM webhook_attempts")!.decode("n")
                return (p, a)
            }
            #expect(processed == Int64(events) && attempts == Int64(events), "node \(n + 1): \(processed) processed, \(attempts) attempts")
        }
    }

    /// Runs `body`, then closes `databases` whatever it did.
    static func closing(_ databases: [Database], _ body: () async throws -> Void) async throws {
        let outcome: Result<Void, any Error>
        do {
            try await body()
            outcome = .success(())
        } catch {
            outcome = .failure(error)
        }
        for db in databases { await db.close() }
        try outcome.get()
    }

    /// Two `strata serve` processes on two nodes taking charges of one wallet at once.
    @Test func twoServersOnTwoNodesChargeOneWalletExactly() async throws {
        try await withGaleraDatabase(maxConnections: 2) { nodes, name in
            try await CatalogueSeeder(database: nodes[0], directory: projectRoot.appendingPathComponent("seeds"),
                                      logger: TestLog.logger).seed()
            let servers = [
                try await ServeProcess(databaseURL: try Cluster.rawURL(Cluster.galeraVariable(1), database: name)),
                try await ServeProcess(databaseURL: try Cluster.rawURL(Cluster.galeraVariable(2), database: name)),
            ]
            let outcome: Result<Void, any Error>
            do {
                let clients = servers.map { HTTPClient(baseURL: $0.baseURL) }
                let grant = try await clients[0].post("/billing/admin/grant", token: TestJWT.admin(),
                                                      json: ["customer": "g-serve", "credits": 100, "reason": "cluster"])
                #expect(grant.status == 200, "\(grant.text)")
                let cost: Int64 = try await nodes[0].withConnection {
                    try $0.queryFirst("SELECT credits_per_run FROM agent_costs WHERE agent_key = 'code_reviewer'")!.decode("credits_per_run")
                }
                let token = TestJWT.customer("g-serve"), requests = 120
                let statuses = KeyCounter()
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for i in 0..<requests {
                        let client = clients[i % 2]
                        group.addTask {
                            let r = try await client.post("/billing/charges", token: token,
                                                          json: ["agent": "code_reviewer", "run_id": "serve-run-\(i)"])
                            await statuses.add("\(r.status)")
                        }
                    }
                    try await group.waitForAll()
                }
                let covered = Int(100 / cost)
                let counts = await statuses.counts
                #expect(counts == ["201": covered, "402": requests - covered], "\(counts) (cost \(cost))")
                for client in clients {
                    let verify = try await client.get("/billing/admin/ledger/verify", token: TestJWT.admin())
                    #expect(verify.status == 200 && verify.json["consistent"] as? Bool == true, "\(verify.text)")
                    let wallet = try await client.get("/billing/wallet", token: token)
                    #expect(wallet.json["balance_credits"] as? Int == Int(100 - Int64(covered) * cost), "\(wallet.text)")
                }
                outcome = .success(())
            } catch {
                outcome = .failure(error)
            }
            for server in servers {
                let (status, stderr) = try await server.stop()
                #expect(status == 0, "strata serve exited \(status): \(stderr.suffix(10))")
            }
            try outcome.get()
        }
    }

    // MARK: Seeds past one server

    /// Eight `strata seed` at once through PgBouncer in transaction pooling, twice: all
    /// exit 0, the catalogue is loaded once, each run records its files. (A session lock
    /// there lands on a server session the pooler hands to others; the seed takes a
    /// transaction-level lock instead.)
    @Test func eightSeedsThroughPgBouncerLoadTheCatalogueOnce() async throws {
        try await withFreshDatabase(.postgres, migrated: true) { db, url in
            let through = try Cluster.rawURL("STRATA_PGBOUNCER_URL", database: url.database)
            try await Self.eightSeedsAtOnce([through], check: [db])
        }
    }

    /// The same spread over the three Galera nodes, where `GET_LOCK` holds on one node
    /// only: certification arbitrates, and every node ends with the same catalogue.
    @Test func eightSeedsOverThreeGaleraNodesLoadTheCatalogueOnce() async throws {
        try await withGaleraDatabase(migrated: true) { nodes, name in
            let urls = try (1...Cluster.galeraNodes).map { try Cluster.rawURL(Cluster.galeraVariable($0), database: name) }
            try await Self.eightSeedsAtOnce(urls, check: nodes)
        }
    }

    /// Eight `strata seed` processes at once over `urls` (in turn), in two rounds: all
    /// exit 0, and on every one of `nodes` the catalogue has each seed row once and the
    /// history three rows (one per file) per run.
    static func eightSeedsAtOnce(_ urls: [String], check nodes: [Database]) async throws {
        let seeds = projectRoot.appendingPathComponent("seeds").path
        for round in 1...2 {
            var started: [(Process, Pipe, Pipe)] = []
            for i in 0..<8 {
                started.append(try StrataCLI.start(["seed", "--json", "--seeds", seeds], environment: ["DATABASE_URL": urls[i % urls.count]]))
            }
            var results: [StrataCLI.Result] = []
            for (process, out, err) in started { results.append(await StrataCLI.finish(process, out, err)) }
            let failed = results.filter { $0.status != 0 }.map { "exit \($0.status): \($0.stderr)" }
            #expect(failed.isEmpty, "round \(round): \(failed)")
            for (n, node) in nodes.enumerated() {
                let counts: [Int64] = try await node.withConnection { conn in
                    try ["agent_costs", "plans", "credit_packages", "strata_seed_history"].map { table in
                        try conn.queryFirst("SELECT COUNT(*) AS n FROM \(identifier: table)")!.decode("n")
                    }
                }
                #expect(counts == [22, 4, 3, Int64(3 * 8 * round)], "round \(round), node \(n + 1): catalogue and history rows")
            }
        }
    }

    /// Node 2 stopped cleanly (`scripts/cluster stop-node 2`) while charges of one wallet
    /// run on all three nodes: no charge is lost or doubled, nodes 1 and 3 go on charging
    /// while it is away, and it rejoins (`scripts/cluster start galera`, by IST) with the
    /// same ledger, row for row.
    ///
    /// A charge whose node went away mid-flight has an unknown outcome: the client charges
    /// the same run id again on the next node (``FailoverCharges``), and the run id makes
    /// that a replay when the first try had committed. So every run id is charged once:
    /// the balance is B − c × runs on every node. The node is started again whatever
    /// happened, so the tests after this one get a whole cluster.
    @Test func aStoppedNodeLosesNoChargeAndRejoinsAgreeing() async throws {
        try await withGaleraDatabase(maxConnections: 4) { nodes, name in
            let balance: Int64 = 1_000_000, cost: Int64 = 7, customer = "g-stop"
            try await Cluster.addAgent(nodes[0], key: "galera_agent", cost: cost)
            let services = nodes.map { WalletService(database: $0, logger: TestLog.logger) }
            try await services[0].grant(customer: customer, credits: balance, reason: "cluster test", context: Cluster.context)
            let log = FailoverCharges(nodes: nodes.count, stoppedNode: 1, beforeStop: 90, afterStop: 60, cap: 3_000,
                                      within: .seconds(240))
            let started = ContinuousClock.now
            let charging: Result<Void, any Error>
            do {
                try await withThrowingTaskGroup(of: Void.self) { group in
                    // Three clients a node, each charging its runs on its own node first.
                    for client in 0..<(3 * nodes.count) {
                        let home = client % nodes.count
                        group.addTask {
                            while !Task.isCancelled, let runID = await log.nextRunID() {
                                var node = home
                                for attempt in 1...12 {
                                    let afterStop = await log.isStopped
                                    do {
                                        let receipt = try await services[node].charge(
                                            customer: customer, agentKey: "galera_agent", runID: runID, context: Cluster.context)
                                        await log.charged(runID, .init(node: node, attempts: attempt, isReplay: receipt.isReplay,
                                                                       startedAfterStop: afterStop))
                                        break
                                    } catch {
                                        await log.failed(runID, on: node, error)
                                    }
                                    node = (node + 1) % nodes.count
                                }
                            }
                        }
                    }
                    // Node 2 is stopped once some runs are charged, some of them by node 2
                    // (on one hot wallet the first ~90 can all go to the other two), while
                    // the clients go on.
                    group.addTask {
                        while await !log.isReadyToStop {
                            guard await !log.isOver else { return }
                            try await Task.sleep(for: .milliseconds(20))
                        }
                        await log.stopping()
                        await log.stopped(try await Cluster.script(["stop-node", "2"]))
                    }
                    try await group.waitForAll()
                }
                charging = .success(())
            } catch {
                charging = .failure(error)
            }
            let chargingTook = ContinuousClock.now - started
            let restartStarted = ContinuousClock.now
            let restart = try await Cluster.script(["start", "galera"])
            try await waitUntilGaleraIsSynced()
            let rejoinTook = ContinuousClock.now - restartStarted
            #expect(restart.status == 0, "scripts/cluster start galera: \(restart.stdout) \(restart.stderr)")
            try charging.get()

            let stop = await log.stopScript
            #expect(stop?.status == 0, "scripts/cluster stop-node 2: \(stop.map { "\($0.status) \($0.stdout) \($0.stderr)" } ?? "never ran")")
            let issued = await log.issued, charged = await log.charged, unexpected = await log.unexpected
            let gone = await log.goneFailures, afterStop = await log.chargedAfterStop
            let stoppedAfter = await log.stoppedAfterCharges, conflicts = await log.conflicts
            let retried = charged.values.filter { $0.attempts > 1 }, replays = retried.filter(\.isReplay)
            print("""
                aStoppedNodeLosesNoChargeAndRejoinsAgreeing: \(issued) runs in \(chargingTook), node 2 stopped after \
                \(stoppedAfter) charges in \(stop?.duration ?? .zero); charged after the stop by node: \(afterStop); \
                failed tries on node 2: \(gone); conflicts beyond the retry budget: \(conflicts); runs charged on \
                another node: \(retried.count), of which replays of a charge that had committed: \(replays.count); \
                unexpected failures: \(unexpected.count); rejoined in \(rejoinTook)
                """)
            #expect(unexpected.isEmpty, "\(unexpected.count) unexpected failures: \(unexpected.prefix(10))")
            #expect(charged.count == issued, "\(issued - charged.count) of \(issued) runs were never charged as the client saw it")
            #expect(afterStop[0] >= log.afterStop && afterStop[2] >= log.afterStop,
                    "nodes 1 and 3 carried on: runs charged on each after node 2 was stopped: \(afterStop)")
            #expect(gone.values.reduce(0, +) > 0, "no try on node 2 failed: was it stopped? \(stop?.stdout ?? "")")
            #expect(charged.values.contains { $0.node == 1 && !$0.startedAfterStop }, "node 2 charged runs before it was stopped")

            // Every node, the rejoined one included, holds each run's charge once and the
            // same ledger. Fresh pools: node 2's old connections died with it.
            let expected = Set((0..<issued).map { "stop-run-\($0 + 1)" })
            var ledgers: [[String]] = []
            for n in 1...Cluster.galeraNodes {
                let db = Database(url: try Cluster.galera(n, database: name), maxConnections: 1, logger: TestLog.logger)
                let checked: Result<[String], any Error>
                do {
                    let wallets = WalletService(database: db, logger: TestLog.logger)
                    #expect(try await wallets.balance(customer: customer) == balance - Int64(issued) * cost,
                            "node \(n): the balance is B - c x \(issued) runs")
                    let reports = try await wallets.verifyAll()
                    #expect(!reports.isEmpty && reports.allSatisfy(\.isConsistent),
                            "node \(n): the ledger verifies: \(reports.flatMap(\.problems).prefix(5))")
                    let (rows, audits): ([Row], Int64) = try await db.withConnection { conn in
                        (try conn.query("SELECT sequence, kind, run_id, amount, balance_after FROM credit_transactions ORDER BY sequence"),
                         try conn.queryFirst("SELECT COUNT(*) AS n FROM billing_audit WHERE action = 'wallet.charge'")!.decode("n"))
                    }
                    let runIDs = try rows.filter { try $0.decode("kind", as: String.self) == "charge" }
                        .map { try $0.decode("run_id", as: String.self) }
                    let doubled = Dictionary(grouping: runIDs, by: { $0 }).filter { $0.value.count > 1 }.keys.sorted()
                    #expect(runIDs.count == issued && doubled.isEmpty && Set(runIDs) == expected, """
                        node \(n): one charge a run: \(runIDs.count) charges of \(issued) runs, doubled: \(doubled.prefix(5)), \
                        missing: \(expected.subtracting(runIDs).sorted().prefix(5))
                        """)
                    #expect(audits == Int64(issued), "node \(n): \(audits) charge audit rows for \(issued) runs")
                    checked = .success(rows.map(\.description))
                } catch {
                    checked = .failure(error)
                }
                await db.close()
                ledgers.append(try checked.get())
            }
            for n in 1..<ledgers.count {
                let first = ledgers[0].indices.first { $0 >= ledgers[n].count || ledgers[0][$0] != ledgers[n][$0] }
                #expect(ledgers[n] == ledgers[0], """
                    nodes 1 and \(n + 1) agree: \(ledgers[0].count) and \(ledgers[n].count) ledger rows, first difference at \
                    \(first.map { "\(ledgers[0][$0]) / \(ledgers[n][$0])" } ?? "the end")
                    """)
            }
        }
    }

    // MARK: Migrations past one server

    /// The project's mysql migrations, how many there are, and the folder's path.
    static func projectMigrations(_ dialect: String) throws -> (count: Int, path: String) {
        let folder = projectRoot.appendingPathComponent("migrations")
        let files = try FileManager.default.contentsOfDirectory(atPath: folder.appendingPathComponent(dialect).path)
        return (files.filter { $0.hasSuffix(".up.sql") }.count, folder.path)
    }

    /// Eight `strata migrate up` processes at once over `urls` (in turn): all exit 0, each
    /// migration is applied by exactly one of them, and the lock they chose is the table's.
    static func eightRunsAtOnce(_ urls: [String], dialect: String, check db: Database) async throws {
        let (count, path) = try projectMigrations(dialect)
        var started: [(Process, Pipe, Pipe)] = []
        for i in 0..<8 {
            started.append(try StrataCLI.start(["migrate", "up", "--lock-timeout", "120", "--migrations", path],
                                               environment: ["DATABASE_URL": urls[i % urls.count]]))
        }
        var results: [StrataCLI.Result] = []
        for (process, out, err) in started { results.append(await StrataCLI.finish(process, out, err)) }
        for r in results { #expect(r.status == 0, "\(r.stdout) \(r.stderr)") }
        let applied = results.flatMap { $0.stdout.split(separator: "\n") }.filter { $0.hasPrefix("up   ") }
        #expect(applied.count == count, "each migration applied once: \(applied)")
        let history: Int64 = try await db.withConnection {
            try $0.queryFirst("SELECT COUNT(*) AS n FROM strata_schema_history WHERE state = 'applied'")!.decode("n")
        }
        #expect(history == Int64(count))
        let status = try await StrataCLI.run(["migrate", "status", "--json", "--migrations", path],
                                             environment: ["DATABASE_URL": urls[urls.count - 1]])
        let lock = status.json?["lock"] as? [String: Any]
        #expect(lock?["kind"] as? String == "table", "--lock auto chose the table lock: \(status.stdout)")
    }

    @Test func eightMigrateUpsOverThreeGaleraNodesApplyEachMigrationOnce() async throws {
        try await withGaleraDatabase(migrated: false) { nodes, name in
            let urls = try (1...Cluster.galeraNodes).map { try Cluster.rawURL(Cluster.galeraVariable($0), database: name) }
            try await Self.eightRunsAtOnce(urls, dialect: "mysql", check: nodes[0])
            var snapshots: [SchemaSnapshot] = []
            for node in nodes {
                let inspector = node.dialect.schemaInspector
                snapshots.append(try await node.withConnection {
                    try inspector.snapshot($0, excluding: Migrator.strataTables(history: "strata_schema_history"))
                })
            }
            #expect(snapshots[0] == snapshots[1] && snapshots[1] == snapshots[2], "the three nodes' schemas are equal")
            #expect(!snapshots[0].tables.isEmpty)
        }
    }

    @Test func eightMigrateUpsThroughPgBouncerApplyEachMigrationOnce() async throws {
        try await withFreshDatabase(.postgres) { db, url in
            let through = try Cluster.rawURL("STRATA_PGBOUNCER_URL", database: url.database)
            try await Self.eightRunsAtOnce([through], dialect: "postgres", check: db)
        }
    }

    /// `migrate verify` (every down restores the schema its up changed) and `migrate
    /// parity` (both dialects build the same schema) work against a Galera node, whose DDL
    /// runs in total order on all three; afterwards the three nodes' schemas are equal.
    @Test func verifyAndParityWorkAgainstAGaleraNode() async throws {
        try await withGaleraDatabase(migrated: false) { nodes, name in
            let node2 = try Cluster.rawURL(Cluster.galeraVariable(2), database: name)
            let migrations = projectRoot.appendingPathComponent("migrations").path
            let verify = try await StrataCLI.run(["migrate", "verify", "--migrations", migrations], environment: ["DATABASE_URL": node2])
            #expect(verify.status == 0, "\(verify.stdout) \(verify.stderr)")
            try await withFreshDatabase(.postgres) { _, postgres in
                let parity = try await StrataCLI.run(["migrate", "parity", "--apply", "--postgres-url", postgres.urlString,
                                                      "--mysql-url", node2, "--migrations", migrations])
                #expect(parity.status == 0, "\(parity.stdout) \(parity.stderr)")
            }
            var snapshots: [SchemaSnapshot] = []
            for node in nodes {
                let inspector = node.dialect.schemaInspector
                snapshots.append(try await node.withConnection {
                    try inspector.snapshot($0, excluding: Migrator.strataTables(history: "strata_schema_history"))
                })
            }
            #expect(!snapshots[0].tables.isEmpty && snapshots[0] == snapshots[1] && snapshots[1] == snapshots[2],
                    "the three nodes' schemas are equal")
        }
    }

    /// A run killed with SIGKILL on node 1 in the middle of a migration is resumed on node 2:
    /// once the dead run's lease has ended, the new run takes the lock over and continues at
    /// the statement the dead one did not finish; nothing runs twice.
    @Test func aRunKilledOnOneNodeIsResumedOnAnotherAtTheRightStatement() async throws {
        try await withGaleraDatabase(migrated: false) { nodes, name in
            let marker = uniqueName("gk")
            let fixture = try MigrationFixture([
                "1_long.up.sql": """
                    CREATE TABLE \(marker) (id INT NOT NULL PRIMARY KEY);
                    INSERT INTO \(marker) (id) VALUES (1);
                    INSERT INTO \(marker) (id) SELECT 2 FROM (SELECT SLEEP(60) AS s) AS slow;
                    CREATE TABLE \(marker)_after (id INT NOT NULL PRIMARY KEY);

                    """,
                "1_long.down.sql": "DROP TABLE \(marker)_after;\nDROP TABLE \(marker);\n",
            ])
            let node1 = try Cluster.rawURL(Cluster.galeraVariable(1), database: name)
            let node2 = try Cluster.rawURL(Cluster.galeraVariable(2), database: name)
            let (process, out, err) = try StrataCLI.start(["migrate", "up", "--lock-lease", "4", "--migrations", fixture.root.path],
                                                          environment: ["DATABASE_URL": node1])
            let deadline = ContinuousClock.now + .seconds(60)
            var running = false
            while ContinuousClock.now < deadline, !running {
                let n: Int64 = try await nodes[0].withConnection {
                    try $0.queryFirst("SELECT COUNT(*) AS n FROM information_schema.processlist WHERE info LIKE '%SLEEP(60)%' AND id <> CONNECTION_ID()")!.decode("n")
                }
                running = n > 0
                if !running { try await Task.sleep(for: .milliseconds(50)) }
            }
            #expect(running, "statement 3 never ran")
            kill(process.processIdentifier, SIGKILL)
            _ = await StrataCLI.finish(process, out, err)

            try fixture.write("1_long.up.sql", try String(contentsOf: fixture.root.appendingPathComponent("1_long.up.sql"), encoding: .utf8)
                .replacingOccurrences(of: "SLEEP(60)", with: "SLEEP(0)"))
            let resumed = try await StrataCLI.run(["migrate", "up", "--lock-lease", "4", "--lock-timeout", "60",
                                                   "--migrations", fixture.root.path], environment: ["DATABASE_URL": node2])
            #expect(resumed.status == 0, "\(resumed.stdout) \(resumed.stderr)")
            // Statements 2 and 3 change rows: they commit as one group with their journal
            // rows, so the killed group rolled back whole and the run resumes at its start.
            #expect(resumed.stdout.contains("resumed at 2"), "\(resumed.stdout)")
            let takeovers: Int64 = try await nodes[2].withConnection {
                try $0.queryFirst("SELECT COUNT(*) AS n FROM strata_lock_events WHERE event = 'takeover'")!.decode("n")
            }
            #expect(takeovers == 1, "the dead run's lock was taken over once its lease ended")
            for (n, node) in nodes.enumerated() {
                let rows: [Int64] = try await node.withConnection {
                    try $0.query("SELECT id FROM \(identifier: marker) ORDER BY id").map { try $0.decode("id") }
                }
                #expect(rows == [1, 2], "node \(n + 1): every statement applied once")
            }
        }
    }
}
