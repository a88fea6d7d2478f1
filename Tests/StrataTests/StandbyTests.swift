import Foundation
import StrataBilling
import StrataSeeds
import StrataSQL
import Testing

/// The services beside a PostgreSQL hot standby (issue 17, item 6), the real one that
/// `scripts/cluster start standby` makes with `pg_basebackup -R`: it lags its primary and
/// refuses writes.
@Suite("Cluster services: hot standby", .serialized)
struct StandbyTests {
    // MARK: PostgreSQL hot standby

    /// With a standby configured, a charge followed at once by a balance read always sees
    /// the charge (the read goes to the primary), while the catalogue is read from the
    /// standby, which really is one.
    @Test func aChargeIsAlwaysSeenByTheBalanceReadThatFollowsIt() async throws {
        try await withFreshDatabase(.postgres, migrated: true, maxConnections: 1) { _, url in
            let db = Database(url: url, maxConnections: 4, replica: try Cluster.standby(database: url.database),
                              logger: TestLog.logger)
            let outcome: Result<Void, any Error>
            do {
                try await Cluster.addAgent(db, key: "standby_agent", cost: 2)
                // The standby replays the new database and its rows a little later: once it
                // has replayed the primary's WAL up to here, the catalogue read from it must
                // show the agent.
                let recovering = try await Self.waitUntilReplayed(db, on: db.replica!)
                let agents = try await AgentCatalogue(database: db).list()
                #expect(recovering, "the replica is a standby in recovery")
                #expect(agents.map(\.key) == ["standby_agent"], "the catalogue read from the standby")
                let wallets = WalletService(database: db, logger: TestLog.logger)
                try await wallets.grant(customer: "s-wallet", credits: 1_000, reason: "standby test", context: Cluster.context)
                for i in 0..<200 {
                    try await wallets.charge(customer: "s-wallet", agentKey: "standby_agent", runID: "s-run-\(i)", context: Cluster.context)
                    let seen = try await wallets.balance(customer: "s-wallet")
                    #expect(seen == 1_000 - Int64(i + 1) * 2, "charge \(i + 1): the balance read saw \(seen)")
                    if seen != 1_000 - Int64(i + 1) * 2 { break }
                }
                outcome = .success(())
            } catch {
                outcome = .failure(error)
            }
            await db.close()
            try outcome.get()
        }
    }

    /// `migrate status` shows the history read from the standby, which may be behind,
    /// while `migrate status --exit-code`, whose answer a pipeline acts on, reads the
    /// primary's: with the standby's replay paused, a migration just applied shows as
    /// pending in the display and applied to the exit code.
    @Test func migrateStatusShowsTheStandbysHistoryAndDecidesOnThePrimarys() async throws {
        try await withFreshDatabase(.postgres, migrated: false, maxConnections: 1) { db, url in
            let fixture = try MigrationFixture([
                "1_a.up.sql": "CREATE TABLE standby_a (id INT PRIMARY KEY);\n", "1_a.down.sql": "DROP TABLE standby_a;\n",
                "2_b.up.sql": "CREATE TABLE standby_b (id INT PRIMARY KEY);\n", "2_b.down.sql": "DROP TABLE standby_b;\n",
            ])
            let standbyURL = try Cluster.standby(database: url.database)
            let environment = ["DATABASE_URL": url.urlString, "STRATA_REPLICA_URL": standbyURL.urlString]
            func migrate(_ arguments: [String]) async throws -> StrataCLI.Result {
                try await StrataCLI.run(["migrate"] + arguments + ["--migrations", fixture.root.path], environment: environment)
            }
            let first = try await migrate(["up", "--to", "1"])
            #expect(first.status == 0, "\(first.stderr)")
            let standby = Database(url: standbyURL, maxConnections: 1, logger: TestLog.logger)
            #expect(try await Self.waitUntilReplayed(db, on: standby), "the standby is in recovery")
            try await standby.withConnection { _ = try $0.queryFirst("SELECT pg_wal_replay_pause()::text AS paused") }
            let outcome: Result<Void, any Error>
            do {
                let second = try await migrate(["up"])
                #expect(second.status == 0 && second.stdout.contains("2_b"), "\(second.stdout) \(second.stderr)")
                let shown = try await migrate(["status", "--json"])
                let states = (shown.json?["migrations"] as? [[String: Any]])?.map { $0["state"] as? String }
                #expect(states == ["applied", "pending"], "the display read the paused standby: \(shown.stdout) \(shown.stderr)")
                let decided = try await migrate(["status", "--exit-code"])
                #expect(decided.status == 0, "the exit code read the primary, where nothing is pending: \(decided.stdout) \(decided.stderr)")
                outcome = .success(())
            } catch {
                outcome = .failure(error)
            }
            // Always resumed: the standby is shared with the other tests.
            try await standby.withConnection { _ = try $0.queryFirst("SELECT pg_wal_replay_resume()::text AS resumed") }
            await standby.close()
            try outcome.get()
        }
    }

    /// Waits (at most 120 s: a standby replaying a busy primary's WAL on a small machine
    /// can be seconds behind) until `standby` has replayed `primary`'s WAL up to now;
    /// records an issue if it has not. Returns whether `standby` is in recovery.
    static func waitUntilReplayed(_ primary: Database, on standby: Database) async throws -> Bool {
        // The insert position: with synchronous_commit off (the throwaway servers' setting)
        // a commit's record may not be written out yet, and pg_current_wal_lsn() is behind it.
        let written: String = try await primary.withConnection {
            try $0.queryFirst("SELECT pg_current_wal_insert_lsn()::text AS lsn")!.decode("lsn")
        }
        let deadline = ContinuousClock.now + .seconds(120)
        var recovering = false, replayed = false
        while ContinuousClock.now < deadline {
            // The standby may not have replayed the database's creation yet.
            let seen = try? await standby.withConnection { conn -> (Bool, Bool) in
                let row = try conn.queryFirst("SELECT pg_is_in_recovery() AS r, pg_last_wal_replay_lsn() >= \(written)::pg_lsn AS done")!
                return (try row.decode("r"), try row.decode("done"))
            }
            if let seen { (recovering, replayed) = seen }
            if recovering && replayed { break }
            try await Task.sleep(for: .milliseconds(50))
        }
        #expect(replayed, "the standby replayed the primary's WAL up to \(written) within 120 s")
        return recovering
    }
}
