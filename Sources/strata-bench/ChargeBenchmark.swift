import Foundation
import Logging
import StrataBilling
import StrataDrivers
import StrataMigrations
import StrataSQL

/// `strata-bench charges`: agent-run charges per second through `WalletService.charge`,
/// from concurrent tasks over a pool, each charging a random wallet of a seeded set.
///
/// Every charge is the service's whole transaction: the wallet locked with the agent's
/// cost and the run's earlier charge read in the same statement, the conditional balance
/// update, the ledger insert, the audit insert, commit. Run ids are unique
/// (`PREFIX-TASK-I`), so no charge is a replay; one that is fails the benchmark.
///
/// The database holds one agent (`bench_agent`, 1 credit a run) and `--wallets`
/// customers (`100001` …) whose wallets were granted 10¹² credits, so no charge
/// runs out. By default it is a scratch database created in the URL's server, migrated
/// from `--migrations`, seeded, measured and dropped. `scripts/bench services` instead
/// prepares one named database with `--prepare-only`, then measures Strata and its floor
/// in turn in that same database, so both see the same tables growing alike.
///
/// `--url` given more than once names several entry points of one database (the nodes
/// of a Galera cluster, say): the tasks are dealt out round-robin over the URLs, each
/// URL with a pool of its own as large as its share of the tasks. The first URL
/// prepares the database (and creates and drops a scratch one); `scripts/bench cluster`
/// compares such a run over three nodes with one over a single server.
///
///     strata-bench charges --url URL [--charges 8000 --tasks 8 --wallets 100 --warmup 800]
///     strata-bench charges --url URL --database strata_bench_charges --prepare-only
///     strata-bench charges --url URL --database strata_bench_charges --run-prefix s1
///     strata-bench charges --url NODE1 --url NODE2 --url NODE3 --database strata_bench_charges --run-prefix g1
///
/// Afterwards, untimed, every wallet's ledger is verified through every URL (the
/// floor's rows included, when it ran in the same database). Prints one line with
/// `charges/s N`, then the timed transactions the pools ran again (a deadlock, or a
/// certification conflict on Galera) as `retries N`; a charge that still fails fails
/// the benchmark.
enum ChargeBenchmark {
    static let usage = """
        usage: strata-bench charges --url URL [options]

        Agent-run charges per second (WalletService.charge) from concurrent tasks over a
        pool, each charging a random wallet with a run id of its own.

          --url URL             postgres://… or mysql://… (the database part is replaced);
                                repeated, entry points of one database (cluster nodes): the
                                tasks go round-robin over them, a pool each, and the first
                                one prepares
          --charges N           timed charges in all, shared by the tasks     (default 8000)
          --tasks N             concurrent tasks; each URL's pool has a connection for
                                each of its tasks                              (default 8)
          --wallets N           seeded wallets, charged at random             (default 100)
          --warmup N            untimed charges first                          (default 800)
          --migrations DIR      the project's migrations folder               (default migrations)
          --database NAME       a database named strata_bench_…, kept afterwards; without it a
                                scratch database is created, seeded and dropped
          --prepare-only        with --database: drop and create it, migrate and seed it, stop
          --run-prefix P        run ids are P-TASK-I; unique per measurement in one database
                                (default: random)
          --default-executor    the tasks run on Swift's default executor instead of the
                                pool's (Database.executor): every charge is handed to a
                                connection thread and back
        """

    /// The agent every charge names, and its cost.
    static let agentKey = "bench_agent"
    static let agentCost: Int64 = 1
    /// Each wallet's balance: no benchmark ever runs it out.
    static let walletCredits: Int64 = 1_000_000_000_000
    static let context = BillingContext(actor: "bench:charges")

    /// The external id of seeded customer `n` (1…wallets): digits only (`100001` …),
    /// because pgbench, which drives the PostgreSQL floor, can bind a number it computed
    /// but cannot build a string.
    static func customer(_ n: Int) -> String { String(100_000 + n) }

    struct Configuration {
        /// Where the tasks charge, all of one database: task `t` goes through
        /// `urls[t % urls.count]`.
        var urls: [DatabaseURL]
        var charges: Int
        var tasks: Int
        var wallets: Int
        var warmup: Int
        var migrations: URL
        var database: String?
        var prepareOnly: Bool
        var runPrefix: String
        var defaultExecutor: Bool

        init(_ arguments: [String]) throws {
            let options = try BenchOptions(arguments, known: [
                "url", "charges", "tasks", "wallets", "warmup", "migrations", "database", "prepare-only", "run-prefix",
                "default-executor",
            ], flags: ["prepare-only", "default-executor"])
            urls = try options.strings("url").map { try DatabaseURL($0) }
            guard let first = urls.first else { throw BenchUsageError("--url is required") }
            guard urls.allSatisfy({ $0.backend == first.backend }) else {
                throw BenchUsageError("every --url must name the same backend: they are entry points of one database")
            }
            charges = try options.positiveInt("charges", default: 8_000)
            tasks = try options.positiveInt("tasks", default: 8)
            wallets = try options.positiveInt("wallets", default: 100)
            warmup = try options.positiveInt("warmup", default: 800, allowZero: true)
            migrations = URL(fileURLWithPath: options.string("migrations") ?? "migrations")
            database = options.string("database")
            prepareOnly = options.isSet("prepare-only")
            defaultExecutor = options.isSet("default-executor")
            runPrefix = options.string("run-prefix") ?? "r\(UInt32.random(in: 0...UInt32.max))"
            if let database {
                // The name goes into CREATE / DROP DATABASE as it is, and only ever a benchmark's.
                guard database.hasPrefix("strata_bench_"), DriverBenchmarkConfiguration.isPlainName(database, for: self.url) else {
                    throw BenchUsageError("--database must be a plain name starting with strata_bench_, not '\(database)'")
                }
            }
            guard !prepareOnly || database != nil else { throw BenchUsageError("--prepare-only needs --database") }
            guard tasks >= urls.count else {
                throw BenchUsageError("--tasks (\(tasks)) must be at least the number of --url (\(urls.count)): each URL gets a task")
            }
            guard charges % tasks == 0, warmup % tasks == 0 else {
                throw BenchUsageError("--charges (\(charges)) and --warmup (\(warmup)) must be multiples of --tasks (\(tasks))")
            }
            guard !runPrefix.isEmpty, runPrefix.count <= 64 else { throw BenchUsageError("--run-prefix needs 1 to 64 characters") }
        }

        /// The first URL: it prepares the database, and creates and drops a scratch one.
        var url: DatabaseURL { urls[0] }

        /// The tasks that charge through `urls[index]`, and so the connections of its pool.
        func tasks(through index: Int) -> Int {
            tasks / urls.count + (index < tasks % urls.count ? 1 : 0)
        }

        /// The pools, for the report: `pool of 8`, or `pools of 3+3+2` over three URLs.
        var poolsDescription: String {
            urls.count == 1
                ? "pool of \(tasks)"
                : "pools of " + urls.indices.map { String(tasks(through: $0)) }.joined(separator: "+")
        }
    }

    /// Runs the benchmark with command-line arguments; returns the exit code.
    static func main(_ arguments: [String]) async -> Int32 {
        let configuration: Configuration
        do {
            configuration = try Configuration(arguments)
        } catch {
            FileHandle.standardError.write(Data("strata-bench charges: \(error)\n\n\(usage)\n".utf8))
            return 2
        }
        do {
            try await run(configuration)
            return 0
        } catch {
            FileHandle.standardError.write(Data("strata-bench charges: \(error)\n".utf8))
            return 1
        }
    }

    static func run(_ c: Configuration) async throws {
        var logger = Logger(label: "strata-bench")
        logger.logLevel = .warning
        let admin = Database(url: c.url, maxConnections: 1, logger: logger)
        if let name = c.database, c.prepareOnly {
            let outcome = await Result { try await prepare(c, name: name, admin: admin, logger: logger) }
            await admin.close()
            try outcome.get()
            print("strata charges \(c.url.backend.rawValue): prepared \(name) with \(c.wallets) wallets")
            return
        }
        if let name = c.database {
            await admin.close()
            try await measureAndReport(c, name: name, logger: logger)
            return
        }
        let name = "strata_bench_charges_\(UInt32.random(in: 0...UInt32.max))"
        var outcome = await Result { try await prepare(c, name: name, admin: admin, logger: logger) }
        if case .success = outcome {
            outcome = await Result { try await measureAndReport(c, name: name, logger: logger) }
        }
        _ = try? await admin.withConnection { try $0.executeUnprepared("DROP DATABASE IF EXISTS \(name)") }
        await admin.close()
        try outcome.get()
    }

    /// Drops and creates the database, migrates it, adds the agent and the funded wallets.
    private static func prepare(_ c: Configuration, name: String, admin: Database, logger: Logger) async throws {
        try await admin.withConnection { conn in
            try conn.executeUnprepared("DROP DATABASE IF EXISTS \(name)")
            try conn.executeUnprepared("CREATE DATABASE \(name)")
        }
        let db = Database(url: c.url.withDatabase(name), maxConnections: min(c.tasks, 8), logger: logger)
        let outcome = await Result {
            let dialect = SQLSplitDialect(c.url.backend)
            let set = try MigrationLoader.load(directory: c.migrations, dialect: dialect)
            try await Migrator(database: db, migrations: set, logger: logger).run(.up())
            let clock = SystemClock()
            try await db.withConnection { conn in
                let now = clock.now()
                try conn.execute("""
                    INSERT INTO agent_costs (agent_key, display_name, credits_per_run, active, created_at, updated_at)
                    VALUES (\(agentKey), \("Benchmark agent"), \(agentCost), \(true), \(now), \(now))
                    """)
            }
            let wallets = WalletService(database: db, clock: clock, logger: logger)
            for n in 1...c.wallets {
                try await wallets.grant(customer: customer(n), credits: walletCredits, reason: "benchmark balance",
                                        context: context)
            }
        }
        await db.close()
        try outcome.get()
    }

    /// One URL's share of a measurement: its pool, the service charging through it, and
    /// the executor its tasks prefer (`nil`: Swift's default one).
    private struct Lane: Sendable {
        let database: Database
        let wallets: WalletService
        let executor: (any TaskExecutor)?
    }

    /// Warms up, times the charges, verifies the ledgers through every URL, prints the line.
    private static func measureAndReport(_ c: Configuration, name: String, logger: Logger) async throws {
        let retries = TransactionRetries()
        let countingLogger = Logger(label: logger.label) { retries.logHandler(label: $0) }
        let lanes = c.urls.indices.map { i in
            let db = Database(url: c.urls[i].withDatabase(name), maxConnections: c.tasks(through: i), logger: countingLogger)
            return Lane(database: db, wallets: WalletService(database: db, clock: SystemClock(), logger: countingLogger),
                        executor: c.defaultExecutor ? nil : db.executor)
        }
        let outcome = await Result { () async throws -> (Duration, Int, [[LedgerReport]]) in
            // Untimed: opens every connection of the pools (and on MySQL prepares the
            // statements on each), and brings the tables into the servers' cache.
            try await charge(through: lanes, tasks: c.tasks, perTask: c.warmup / c.tasks, wallets: c.wallets,
                             prefix: c.runPrefix + "w", seed: 1)
            let retriesBefore = retries.count
            let clock = ContinuousClock()
            let start = clock.now
            try await charge(through: lanes, tasks: c.tasks, perTask: c.charges / c.tasks, wallets: c.wallets,
                             prefix: c.runPrefix, seed: 2)
            let elapsed = clock.now - start
            let timedRetries = retries.count - retriesBefore
            var reports: [[LedgerReport]] = []
            for lane in lanes { reports.append(try await lane.wallets.verifyAll()) }
            return (elapsed, timedRetries, reports)
        }
        for lane in lanes { await lane.database.close() }
        let (elapsed, timedRetries, reports) = try outcome.get()
        for (lane, laneReports) in zip(lanes, reports) {
            if let bad = laneReports.first(where: { !$0.isConsistent }) {
                throw BenchUsageError("the ledger of \(bad.customer) is inconsistent after the run"
                    + (lanes.count > 1 ? " (read through \(lane.database.url))" : "") + ": "
                    + bad.problems.prefix(3).joined(separator: "; "))
            }
        }
        let seconds = elapsed.seconds
        let spread = c.urls.count > 1
        print("strata charges \(c.url.backend.rawValue): \(c.charges) charges, \(c.tasks) task(s)"
            + (spread ? " over \(c.urls.count) URLs" : "") + ", \(c.poolsDescription), "
            + (c.defaultExecutor ? "default executor, " : spread ? "each pool's executor, " : "the pool's executor, ")
            + "\(c.wallets) wallets, ledgers verified" + (spread ? " through every URL, " : ", ")
            + String(format: "%.3f s, charges/s %.1f, retries %d", seconds, Double(c.charges) / seconds, timedRetries))
    }

    /// `perTask` charges in each of `tasks` tasks, each of a random wallet under a new run
    /// id; task `t` charges through `lanes[t % lanes.count]` and prefers its executor.
    /// - Throws: a ``DatabaseError`` or ``WalletError``, or when a charge was a replay.
    private static func charge(through lanes: [Lane], tasks: Int, perTask: Int, wallets count: Int,
                               prefix: String, seed: UInt64) async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            for t in 0..<tasks {
                let lane = lanes[t % lanes.count]
                group.addTask(executorPreference: lane.executor) {
                    var random = SplitMix64(seed: seed &* 1_000_003 &+ UInt64(t))
                    for i in 0..<perTask {
                        let n = Int.random(in: 1...count, using: &random)
                        let receipt = try await lane.wallets.charge(customer: customer(n), agentKey: agentKey,
                                                                    runID: "\(prefix)-\(t)-\(i)", context: context)
                        guard !receipt.isReplay else {
                            throw BenchUsageError("run \(prefix)-\(t)-\(i) was already charged: reuse of a --run-prefix?")
                        }
                    }
                }
            }
            try await group.waitForAll()
        }
    }
}

extension Result where Failure == any Error {
    /// The outcome of an async throwing body, so cleanup can run before it is rethrown.
    init(_ body: () async throws -> Success) async {
        do { self = .success(try await body()) } catch { self = .failure(error) }
    }
}
