import Foundation
import Logging
import StrataDrivers
import StrataSQL
import Synchronization

/// The benchmark's queries through the driver alone: each of `--tasks` threads opens its
/// own connection and calls it in a plain loop, with no pool and no hop between threads
/// per query (the shape of the C loop that is MariaDB's floor).
///
/// Not how an application uses Strata (it goes through `Database`); it is the reference
/// that shows how much of a gap to the floor the driver accounts for, and how much the
/// pool.
enum DriverLoop {
    static func measure(_ c: DriverBenchmarkConfiguration, logger: Logger) async throws -> DriverBenchmark.Measurement {
        // The blocking loops get threads of their own, off Swift's cooperative pool.
        var outer: JoinableThread?
        let measurement = await withCheckedContinuation { (continuation: CheckedContinuation<Result<DriverBenchmark.Measurement, Error>, Never>) in
            outer = JoinableThread {
                continuation.resume(returning: Result { try run(c, logger: logger) })
            }
        }
        // Every thread has exited before the program may end (see `JoinableThread`).
        outer?.join()
        return try measurement.get()
    }

    /// Each thread opens its connection and warms it up, as each thread of the C loop
    /// does (which thread opens a connection changes the throughput on these machines by
    /// a third, so the reference does what the floor and the pool do); the clock starts
    /// when every thread is ready and stops when the last one is done.
    private static func run(_ c: DriverBenchmarkConfiguration, logger: Logger) throws -> DriverBenchmark.Measurement {
        let threads = c.tasks
        let perThread = c.queries / threads
        let ready = DispatchGroup(), go = DispatchSemaphore(value: 0), done = DispatchGroup()
        let outcomes = Mutex<[Result<Int, Error>]>([])
        var started: [JoinableThread] = []
        for t in 0..<threads {
            ready.enter()
            done.enter()
            started.append(JoinableThread {
                let opened = Result { try c.url.driver.connect(to: c.url, logger: logger) }
                let warmedUp = opened.flatMap { conn in
                    Result { try lookUp(conn, c, count: max(c.warmup / threads, 1), seed: 1, thread: t) }
                }
                ready.leave()
                go.wait()
                let outcome = warmedUp.flatMap { _ in
                    opened.flatMap { conn in Result { try lookUp(conn, c, count: perThread, seed: 2, thread: t) } }
                }
                if case .success(let conn) = opened { conn.close() }
                outcomes.withLock { $0.append(outcome) }
                done.leave()
            })
        }
        ready.wait()
        let clock = ContinuousClock()
        let start = clock.now
        for _ in 0..<threads { go.signal() }
        done.wait()
        let elapsed = clock.now - start
        // Closed, and gone: no thread still runs libpq's or libmariadb's code when the program ends.
        for thread in started { thread.join() }
        var missing = 0
        for outcome in outcomes.withLock({ $0 }) { missing += try outcome.get() }
        return DriverBenchmark.Measurement(elapsed: elapsed, missing: missing)
    }

    /// Runs `count` lookups on `conn`; returns how many found no row.
    private static func lookUp(_ conn: any SQLConnection, _ c: DriverBenchmarkConfiguration, count: Int, seed: UInt64, thread: Int) throws -> Int {
        let select = c.selectPrefix
        var random = SplitMix64(seed: seed &* 1_000_003 &+ UInt64(thread))
        var missing = 0
        for _ in 0..<count {
            let id = Int.random(in: 1...c.rows, using: &random)
            if try conn.queryFirst("\(unsafeRaw: select)\(id)")?.decode(c.valueColumn, as: Int64.self) == nil {
                missing += 1
            }
        }
        return missing
    }
}
