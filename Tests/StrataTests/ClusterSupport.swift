import Foundation
import StrataBilling
import StrataMigrations
import StrataSQL
import Testing

/// The topologies of `scripts/cluster`, from the URLs its `env` prints: three Galera
/// nodes, PgBouncer in transaction pooling, a PostgreSQL hot standby.
///
/// Like the single servers, a missing topology fails the test loudly: `scripts/test`
/// starts them all, and a test that passed without its cluster would prove nothing.
enum Cluster {
    static let galeraNodes = 3

    /// The raw URL text of a variable, password included (for subprocesses), pointed at
    /// `database` when given.
    static func rawURL(_ variable: String, database: String? = nil) throws -> String {
        guard let raw = ProcessInfo.processInfo.environment[variable], !raw.isEmpty else {
            throw ClusterMissing(variable: variable)
        }
        return database.map { urlText(raw, database: $0) } ?? raw
    }

    static func galeraVariable(_ node: Int) -> String { "STRATA_GALERA_URL_\(node)" }

    /// Node `n`'s URL (1…3), pointed at `database` when given.
    static func galera(_ node: Int, database: String? = nil) throws -> DatabaseURL {
        try DatabaseURL(rawURL(galeraVariable(node), database: database))
    }

    static func standby(database: String? = nil) throws -> DatabaseURL {
        try DatabaseURL(rawURL("STRATA_STANDBY_URL", database: database))
    }

    static func pgbouncer(database: String? = nil) throws -> DatabaseURL {
        try DatabaseURL(rawURL("STRATA_PGBOUNCER_URL", database: database))
    }

    /// The audit context of the cluster tests' operations.
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
}

extension Cluster {
    /// Runs `scripts/cluster` with `arguments` to its end, as an operator would: e.g.
    /// `["stop-node", "2"]` to stop one Galera node, `["start", "galera"]` to bring it back.
    ///
    /// The script inherits this process's environment, so it finds the servers by the same
    /// `STRATA_*_PORT` variables that `scripts/test` started them with.
    static func script(_ arguments: [String]) async throws -> StrataCLI.Result {
        let started = ContinuousClock.now
        let process = Process()
        process.executableURL = projectRoot.appendingPathComponent("scripts/cluster")
        process.arguments = arguments
        process.currentDirectoryURL = projectRoot
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = FileHandle.nullDevice
        try process.run()
        return await StrataCLI.finish(process, out, err, started: started)
    }
}

struct ClusterMissing: Error, CustomStringConvertible {
    var variable: String
    var description: String {
        "\(variable) is not set: start the cluster with `scripts/cluster start` and `eval \"$(scripts/cluster env)\"`, or run `scripts/test`"
    }
}

/// Runs `body` with a fresh database on the Galera cluster, created and migrated through
/// node 1 and opened on every node (one pool a node), dropped afterwards.
///
/// `body` gets the pools in node order and the database's name.
func withGaleraDatabase<T: Sendable>(
    migrated: Bool = true, maxConnections: Int = 4,
    _ body: @escaping @Sendable ([Database], String) async throws -> T
) async throws -> T {
    let name = uniqueName("strata_g")
    try await waitUntilGaleraIsSynced()
    let admin = Database(url: try Cluster.galera(1), maxConnections: 1, logger: TestLog.logger)
    try await admin.withConnection { try $0.executeUnprepared("CREATE DATABASE \(name)") }
    var nodes: [Database] = []
    let result: Result<T, any Error>
    do {
        for n in 1...Cluster.galeraNodes {
            nodes.append(Database(url: try Cluster.galera(n, database: name), maxConnections: maxConnections,
                                  logger: TestLog.logger))
        }
        if migrated {
            let set = try MigrationLoader.load(directory: projectRoot.appendingPathComponent("migrations"), dialect: .mysql)
            try await Migrator(database: nodes[0], migrations: set, logger: TestLog.logger).run(.up())
        }
        // DDL is applied on every node in total order; a node may still be a moment behind.
        for node in nodes { try await waitUntilReachable(node) }
        result = .success(try await body(nodes, name))
    } catch {
        result = .failure(error)
    }
    for node in nodes { await node.close() }
    try? await admin.withConnection { try $0.executeUnprepared("DROP DATABASE IF EXISTS \(name)") }
    await admin.close()
    return try result.get()
}

/// Waits (at most 90 s) until every Galera node is `Synced` in a cluster of all of them,
/// so that a test starts on a whole cluster (a node a loaded machine starved, or one a
/// test stopped, may still be joining); fails naming the nodes that are not.
func waitUntilGaleraIsSynced() async throws {
    let deadline = ContinuousClock.now + .seconds(90)
    var states: [String] = []
    while true {
        states = []
        for n in 1...Cluster.galeraNodes {
            let db = Database(url: try Cluster.galera(n), maxConnections: 1, logger: TestLog.logger)
            let state = try? await db.withConnection { conn -> String in
                let row = try conn.queryFirst("""
                    SELECT (SELECT VARIABLE_VALUE FROM information_schema.GLOBAL_STATUS WHERE VARIABLE_NAME = 'WSREP_LOCAL_STATE_COMMENT') AS state,
                           (SELECT VARIABLE_VALUE FROM information_schema.GLOBAL_STATUS WHERE VARIABLE_NAME = 'WSREP_CLUSTER_SIZE') AS size
                    """)
                return "\(try row?.decode("state", as: String?.self) ?? "?") \(try row?.decode("size", as: String?.self) ?? "?")"
            }
            await db.close()
            states.append(state ?? "unreachable")
        }
        if states.allSatisfy({ $0 == "Synced \(Cluster.galeraNodes)" }) { return }
        guard ContinuousClock.now < deadline else { break }
        try await Task.sleep(for: .milliseconds(250))
    }
    let shown = states.enumerated().map { "node \($0.offset + 1): \($0.element)" }.joined(separator: ", ")
    Issue.record("the Galera cluster is not whole after 90 s: \(shown)")
    throw DatabaseError(.other, message: "the Galera cluster is not whole: \(shown)")
}

/// Waits (at most 20 s) until `db` connects and answers.
func waitUntilReachable(_ db: Database) async throws {
    let deadline = ContinuousClock.now + .seconds(20)
    while true {
        do {
            _ = try await db.withConnection { try $0.queryFirst("SELECT 1 AS one") }
            return
        } catch let error as DatabaseError where ContinuousClock.now < deadline
                    && [.unknownDatabase, .connectionRefused, .connectionLost].contains(error.category) {
            try await Task.sleep(for: .milliseconds(100))
        }
    }
}

/// Counts by key, from many tasks.
actor KeyCounter {
    private(set) var counts: [String: Int] = [:]
    func add(_ key: String) { counts[key, default: 0] += 1 }
}

/// Charges of one wallet spread over the Galera nodes while one node is stopped, and what
/// became of each: the bookkeeping of `aStoppedNodeLosesNoChargeAndRejoinsAgreeing`.
///
/// A client that loses its node in the middle of a charge cannot know whether the charge
/// committed, so it charges the same run id again on the next node, as an application
/// would: the run id makes the second try a replay when the first had committed. Run ids
/// are handed out until the node has been stopped and each surviving node has charged
/// `afterStop` runs since (or until `cap` runs after the stop, or the deadline, which the
/// test reports). A stop can take many seconds on a loaded machine (the node leaves the
/// cluster at once, its process ends later): runs go on meanwhile, uncounted by the cap.
actor FailoverCharges {
    enum Phase: Sendable { case running, stopping, stopped }

    /// One run's charge as the client saw it succeed.
    struct Charge: Sendable {
        var node: Int          // 0-based
        var attempts: Int
        var isReplay: Bool
        var startedAfterStop: Bool
    }

    /// The failures that say a node cannot be reached (or went away mid-statement): the
    /// client tries the same run id on the next node.
    static let nodeGone: Set<DatabaseError.Category> = [.connectionLost, .connectionRefused]

    let stoppedNode: Int, nodes: Int, beforeStop: Int, afterStop: Int, cap: Int
    let deadline: ContinuousClock.Instant
    private(set) var phase = Phase.running
    private(set) var issued = 0
    private(set) var charged: [String: Charge] = [:]
    /// "node 2: connection lost [2013]" → how many attempts failed so.
    private(set) var goneFailures: [String: Int] = [:]
    /// Certification conflicts beyond the transaction's retry budget (1213): rolled back,
    /// so the outcome is known; the client tries the run again on the next node.
    private(set) var conflicts: [String: Int] = [:]   // by phase
    /// Failures of any other kind, and node-gone failures of a node that was not stopped.
    private(set) var unexpected: [String] = []
    private(set) var stopScript: StrataCLI.Result?
    private(set) var stoppedAfterCharges = 0
    /// Runs issued when the stop script returned.
    private var issuedAtStop = 0

    init(nodes: Int, stoppedNode: Int, beforeStop: Int, afterStop: Int, cap: Int, within: Duration) {
        self.nodes = nodes
        self.stoppedNode = stoppedNode
        self.beforeStop = beforeStop
        self.afterStop = afterStop
        self.cap = cap
        self.deadline = .now + within
    }

    /// The next run id to charge, or `nil` once there is no more to do.
    func nextRunID() -> String? {
        if phase == .stopped, chargedAfterStop.enumerated().allSatisfy({ $0.offset == stoppedNode || $0.element >= afterStop }) {
            return nil
        }
        guard ContinuousClock.now < deadline, phase != .stopped || issued - issuedAtStop < cap else { return nil }
        issued += 1
        return "stop-run-\(issued)"
    }

    var isStopped: Bool { phase == .stopped }
    var isOver: Bool { phase == .stopped || ContinuousClock.now >= deadline }

    /// Whether the node to be stopped has charged runs of its own yet: stopping it before
    /// would prove nothing about a node that goes away while it works.
    var stoppedNodeHasCharged: Bool { charged.values.contains { $0.node == stoppedNode } }

    /// Enough runs charged, some by the node to be stopped: time to stop it.
    var isReadyToStop: Bool { charged.count >= beforeStop && stoppedNodeHasCharged }

    /// Runs charged on each node that began after the stopped node was gone.
    var chargedAfterStop: [Int] {
        var counts = Array(repeating: 0, count: nodes)
        for charge in charged.values where charge.startedAfterStop { counts[charge.node] += 1 }
        return counts
    }

    func stopping() {
        phase = .stopping
        stoppedAfterCharges = charged.count
    }

    func stopped(_ result: StrataCLI.Result) {
        stopScript = result
        issuedAtStop = issued
        phase = .stopped
    }

    func charged(_ runID: String, _ charge: Charge) {
        if let earlier = charged[runID] {
            unexpected.append("\(runID) was charged twice as the client saw it: \(earlier), \(charge)")
        }
        charged[runID] = charge
    }

    func failed(_ runID: String, on node: Int, _ error: any Error) {
        if let error = error as? DatabaseError, Self.nodeGone.contains(error.category), node == stoppedNode, phase != .running {
            goneFailures["node \(node + 1): \(error.category.rawValue) [\(error.code ?? "-")]", default: 0] += 1
        } else if let error = error as? DatabaseError, error.isRetryable {
            conflicts["\(phase)", default: 0] += 1
        } else {
            unexpected.append("\(runID) on node \(node + 1) (\(phase)): \(String(reflecting: error))")
        }
    }
}
