import Foundation
import Logging
import StrataDrivers
import StrataSQL

/// `strata-bench driver`: single-row primary-key selects with one bind, the work
/// `pgbench -S` does, through Strata's pool and driver.
///
/// Every query is its own `withConnection` lease, as an application handling one
/// request at a time would do. With `--tasks N` the pool has N connections and N tasks
/// share the queries. The tasks prefer the pool's executor (`Database.executor`), as an
/// application's database-bound tasks should; `--default-executor` leaves them on
/// Swift's default executor, where every lease is handed to a connection thread and
/// back. The same code serves both backends: the script passes the table and column
/// names.
///
/// With `--no-pool` it runs the same queries through the driver alone, a connection
/// per thread and without `Database`, so a gap to the floor can be split between the
/// driver and the pool.
enum DriverBenchmark {
    static func main(_ arguments: [String]) async -> Int32 {
        let configuration: DriverBenchmarkConfiguration
        do {
            configuration = try DriverBenchmarkConfiguration(arguments)
        } catch {
            FileHandle.standardError.write(Data("strata-bench driver: \(error)\n\n\(BenchUsage.text)\n".utf8))
            return 2
        }
        do {
            var logger = Logger(label: "strata-bench")
            logger.logLevel = .warning
            let measurement = configuration.noPool
                ? try await DriverLoop.measure(configuration, logger: logger)
                : try await measureThroughPool(configuration, logger: logger)
            guard measurement.missing == 0 else {
                throw BenchUsageError("\(measurement.missing) of \(configuration.queries) keys had no row: "
                    + "is \(configuration.table) filled with keys 1…\(configuration.rows)?")
            }
            let seconds = measurement.elapsed.seconds
            let how = configuration.noPool
                ? "driver alone, no pool, \(configuration.tasks) thread(s)"
                : "\(configuration.tasks) task(s), pool of \(configuration.tasks), "
                    + (configuration.defaultExecutor ? "default executor" : "the pool's executor")
            print("strata driver \(configuration.url.backend.rawValue): \(configuration.queries) queries, \(how), "
                + String(format: "%.3f s, qps %.1f", seconds, Double(configuration.queries) / seconds))
            return 0
        } catch {
            FileHandle.standardError.write(Data("strata-bench driver: \(error)\n".utf8))
            return 1
        }
    }

    struct Measurement {
        var elapsed: Duration
        /// Lookups that found no row: the table is not what the flags say.
        var missing: Int
    }

    static func measureThroughPool(_ c: DriverBenchmarkConfiguration, logger: Logger) async throws -> Measurement {
        let db = Database(url: c.url, maxConnections: c.tasks, logger: logger)
        do {
            // Untimed: opens every connection of the pool, and on MySQL prepares the
            // statement on each of them.
            _ = try await lookUp(db, c, perTask: max(c.warmup / c.tasks, 1), seed: 1)
            let clock = ContinuousClock()
            let start = clock.now
            let missing = try await lookUp(db, c, perTask: c.queries / c.tasks, seed: 2)
            let elapsed = clock.now - start
            await db.close()
            return Measurement(elapsed: elapsed, missing: missing)
        } catch {
            await db.close()
            throw error
        }
    }

    /// Runs `perTask` lookups in each of `c.tasks` tasks; returns how many found no row.
    private static func lookUp(_ db: Database, _ c: DriverBenchmarkConfiguration, perTask: Int, seed: UInt64) async throws -> Int {
        let select = c.selectPrefix, value = c.valueColumn, rows = c.rows
        let executor: (any TaskExecutor)? = c.defaultExecutor ? nil : db.executor
        return try await withThrowingTaskGroup(of: Int.self) { group in
            for t in 0..<c.tasks {
                group.addTask(executorPreference: executor) {
                    var random = SplitMix64(seed: seed &* 1_000_003 &+ UInt64(t))
                    var missing = 0
                    for _ in 0..<perTask {
                        let id = Int.random(in: 1...rows, using: &random)
                        let balance = try await db.withConnection { conn in
                            try conn.queryFirst("\(unsafeRaw: select)\(id)")?.decode(value, as: Int64.self)
                        }
                        if balance == nil { missing += 1 }
                    }
                    return missing
                }
            }
            return try await group.reduce(0, +)
        }
    }
}
