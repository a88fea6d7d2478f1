import Foundation
import Logging
import StrataDrivers
import StrataSQL

/// The benchmark's queries through the driver alone: one connection, called in a plain
/// loop on one thread of its own, with no pool and no hop between threads per query.
///
/// Not how an application uses Strata (it goes through `Database`); it is the reference
/// that shows how much of a gap to the floor the driver accounts for.
enum DriverLoop {
    static func measure(_ c: DriverBenchmarkConfiguration, logger: Logger) async throws -> DriverBenchmark.Measurement {
        // The blocking loop gets a thread of its own, off Swift's cooperative pool.
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<DriverBenchmark.Measurement, Error>) in
            let thread = Thread {
                continuation.resume(with: Result { try run(c, logger: logger) })
            }
            thread.stackSize = 1 << 20
            thread.start()
        }
    }

    private static func run(_ c: DriverBenchmarkConfiguration, logger: Logger) throws -> DriverBenchmark.Measurement {
        let conn = try c.url.driver.connect(to: c.url, logger: logger)
        defer { conn.close() }
        let select = c.selectPrefix
        func lookUp(count: Int, seed: UInt64) throws -> Int {
            var random = SplitMix64(seed: seed &* 1_000_003)
            var missing = 0
            for _ in 0..<count {
                let id = Int.random(in: 1...c.rows, using: &random)
                if try conn.queryFirst("\(unsafeRaw: select)\(id)")?.decode(c.valueColumn, as: Int64.self) == nil {
                    missing += 1
                }
            }
            return missing
        }
        _ = try lookUp(count: max(c.warmup, 1), seed: 1)
        let clock = ContinuousClock()
        let start = clock.now
        let missing = try lookUp(count: c.queries, seed: 2)
        return DriverBenchmark.Measurement(elapsed: clock.now - start, missing: missing)
    }
}
