import StrataDrivers
import StrataSQL

/// What `strata-bench driver` measures, from its command line.
struct DriverBenchmarkConfiguration {
    var url: DatabaseURL
    var table: String
    var keyColumn: String
    var valueColumn: String
    /// Keys are drawn from 1…rows.
    var rows: Int
    /// Timed queries in all, shared by the tasks.
    var queries: Int
    /// Concurrent tasks; the pool has as many connections.
    var tasks: Int
    /// Untimed queries before the clock starts.
    var warmup: Int
    /// The driver alone, one connection per thread, without `Database`: tells the pool's
    /// cost apart.
    var noPool: Bool
    /// The tasks run on Swift's default executor instead of the pool's (`Database.executor`),
    /// so every lease is handed to a connection thread and back.
    var defaultExecutor: Bool

    static let options: Set<String> = [
        "url", "table", "key-column", "value-column", "rows", "queries", "tasks", "warmup", "no-pool",
        "default-executor",
    ]

    /// - Throws: ``BenchUsageError`` or a ``DatabaseError`` for a URL that does not parse.
    init(_ arguments: [String]) throws {
        let options = try BenchOptions(arguments, known: Self.options, flags: ["no-pool", "default-executor"])
        guard let url = options.string("url") else { throw BenchUsageError("--url is required") }
        self.url = try DatabaseURL(url)
        table = options.string("table") ?? "pgbench_accounts"
        keyColumn = options.string("key-column") ?? "aid"
        valueColumn = options.string("value-column") ?? "abalance"
        rows = try options.positiveInt("rows", default: 100_000)
        queries = try options.positiveInt("queries", default: 20_000)
        tasks = try options.positiveInt("tasks", default: 1)
        warmup = try options.positiveInt("warmup", default: 2_000, allowZero: true)
        noPool = options.isSet("no-pool")
        defaultExecutor = options.isSet("default-executor")
        for (flag, name) in [("table", table), ("key-column", keyColumn), ("value-column", valueColumn)] {
            guard Self.isPlainName(name, for: self.url) else {
                throw BenchUsageError("--\(flag) must be a plain SQL name ([A-Za-z_][A-Za-z0-9_]*, at most 63 bytes), not '\(name)'")
            }
        }
        guard queries % tasks == 0 else {
            throw BenchUsageError("--queries (\(queries)) must be a multiple of --tasks (\(tasks))")
        }
        if noPool && defaultExecutor {
            throw BenchUsageError("--no-pool has no pool and no executor: leave out --default-executor")
        }
    }

    /// The statement's fixed text up to its one bind, as an application writes it as a
    /// literal: `"SELECT abalance FROM pgbench_accounts WHERE aid = \(id)"`. The names
    /// were checked once in `init`, so they need no quoting on every query.
    var selectPrefix: String {
        "SELECT \(valueColumn) FROM \(table) WHERE \(keyColumn) = "
    }

    /// Whether `name` can go into SQL text unquoted: the dialect's own identifier rules
    /// (`quoteIdentifier`), without a schema part.
    static func isPlainName(_ name: String, for url: DatabaseURL) -> Bool {
        !name.contains(".") && (try? url.driver.dialect.quoteIdentifier(name)) != nil
    }
}
