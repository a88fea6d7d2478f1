import Foundation
import StrataBilling
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
    static let context = BillingContext(actor: "test:cluster")

    /// Adds an active agent with its cost, through `db`.
    static func addAgent(_ db: Database, key: String, cost: Int64) async throws {
        let now = SystemClock().now()
        try await db.withConnection { conn in
            try conn.execute("""
                INSERT INTO agent_costs (agent_key, display_name, credits_per_run, active, created_at, updated_at)
                VALUES (\(key), \(key), \(cost), \(true), \(now), \(now))
                """)
        }
    }

    // MARK: Galera

    /// 1,000 charges of one wallet at once, spread over the three nodes: the balance
    /// covers ⌊B/c⌋ of them, and exactly those succeed; the rest are refused for
    /// insufficient credits; no charge fails otherwise (a certification conflict runs the
    /// transaction again); every node's ledger verifies and agrees.
    @Test func aThousandChargesOverThreeNodesChargeExactlyWhatTheBalanceCovers() async throws {
        try await withGaleraDatabase(maxConnections: 4) { nodes, _ in
            let balance: Int64 = 1_000, cost: Int64 = 3, charges = 1_000
            try await Self.addAgent(nodes[0], key: "galera_agent", cost: cost)
            let services = nodes.map { WalletService(database: $0, logger: TestLog.logger) }
            try await services[0].grant(customer: "g-wallet", credits: balance, reason: "cluster test", context: Self.context)
            let outcomes = KeyCounter()
            try await withThrowingTaskGroup(of: Void.self) { group in
                for i in 0..<charges {
                    let service = services[i % services.count]
                    group.addTask {
                        do {
                            try await service.charge(customer: "g-wallet", agentKey: "galera_agent", runID: "run-\(i)",
                                                     context: Self.context)
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
    }

    /// 500 events, received on the three nodes in turn, and two workers on each node
    /// racing for them: each event is handled once and recorded once, on every node.
    @Test func workersOnThreeNodesProcessEveryEventExactlyOnce() async throws {
        try await withGaleraDatabase(maxConnections: 4) { nodes, _ in
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
            #expect(Set(perWorker.filter { $0.value.0 > 0 }.keys.map { $0.prefix(5) }).count == 3,
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
}
