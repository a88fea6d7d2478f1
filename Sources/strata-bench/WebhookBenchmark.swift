import Foundation
import Logging
import StrataBilling
import StrataDrivers
import StrataMigrations
import StrataSQL

/// `strata-bench webhooks`: webhook events processed per second by concurrent
/// `RetryWorker`s with a no-op handler.
///
/// The events are stored first through `WebhookInbox.receive` (signed, untimed); then
/// the workers run `runDue(limit:)` in a loop each until nothing is due, and the time
/// from their start until every event is processed is measured. What is measured is
/// the inbox's own cost per event: the claim (`FOR UPDATE SKIP LOCKED` and the lease
/// update, per batch) and the finish transaction (the lease-checked update, the attempt
/// row, the audit row, commit).
///
/// It runs in a database of its own, created in the URL's server, migrated from
/// `--migrations`, and dropped afterwards, so it never touches another database's events.
///
///     strata-bench webhooks --url URL [--events 2000 --workers 4 --batch 20 --pool 8 --migrations migrations]
///
/// Prints one line ending in `events/s N`.
enum WebhookBenchmark {
    static let usage = """
        usage: strata-bench webhooks --url URL [options]

        Webhook events processed per second by concurrent RetryWorkers (no-op handler),
        in a scratch database created in the URL's server and dropped afterwards.

          --url URL             postgres://… or mysql://… (the database part is replaced)
          --events N            events stored, then processed          (default 2000)
          --workers N           concurrent RetryWorkers                (default 4)
          --batch N             events a worker claims per pass        (default 20)
          --pool N              connections the workers share          (default 8)
          --migrations DIR      the project's migrations folder        (default migrations)
        """

    struct Configuration {
        var url: DatabaseURL
        var events: Int
        var workers: Int
        var batch: Int
        var pool: Int
        var migrations: URL

        init(_ arguments: [String]) throws {
            let options = try BenchOptions(arguments, known: ["url", "events", "workers", "batch", "pool", "migrations"])
            guard let url = options.string("url") else { throw BenchUsageError("--url is required") }
            self.url = try DatabaseURL(url)
            events = try options.positiveInt("events", default: 2_000)
            workers = try options.positiveInt("workers", default: 4)
            batch = try options.positiveInt("batch", default: 20)
            pool = try options.positiveInt("pool", default: 8)
            migrations = URL(fileURLWithPath: options.string("migrations") ?? "migrations")
        }
    }

    /// Runs the benchmark with command-line arguments; returns the exit code.
    static func main(_ arguments: [String]) async -> Int32 {
        let configuration: Configuration
        do {
            configuration = try Configuration(arguments)
        } catch {
            FileHandle.standardError.write(Data("strata-bench webhooks: \(error)\n\n\(usage)\n".utf8))
            return 2
        }
        do {
            try await run(configuration)
            return 0
        } catch {
            FileHandle.standardError.write(Data("strata-bench webhooks: \(error)\n".utf8))
            return 1
        }
    }

    static func run(_ c: Configuration) async throws {
        var logger = Logger(label: "strata-bench")
        logger.logLevel = .warning
        let name = "strata_bench_webhooks_\(UInt32.random(in: 0...UInt32.max))"
        let admin = Database(url: c.url, maxConnections: 1, logger: logger)
        try await admin.withConnection { try $0.executeUnprepared("CREATE DATABASE \(name)") }
        let db = Database(url: c.url.withDatabase(name), maxConnections: c.pool, logger: logger)
        let outcome: Result<(Double, Int64), any Error>
        do {
            outcome = .success(try await measure(c, db: db, logger: logger))
        } catch {
            outcome = .failure(error)
        }
        await db.close()
        _ = try? await admin.withConnection { try $0.executeUnprepared("DROP DATABASE IF EXISTS \(name)") }
        await admin.close()
        let (seconds, processed) = try outcome.get()
        guard processed == Int64(c.events) else {
            throw BenchUsageError("only \(processed) of \(c.events) events were processed")
        }
        print("strata webhooks \(c.url.backend.rawValue): \(c.events) events, \(c.workers) workers, batch \(c.batch), "
            + "pool of \(c.pool), " + String(format: "%.3f s, events/s %.1f", seconds, Double(c.events) / seconds))
    }

    /// Stores the events, then times the workers; returns the seconds and the events processed.
    private static func measure(_ c: Configuration, db: Database, logger: Logger) async throws -> (Double, Int64) {
        let dialect = SQLSplitDialect(c.url.backend)
        let set = try MigrationLoader.load(directory: c.migrations, dialect: dialect)
        try await Migrator(database: db, migrations: set, logger: logger).run(.up())

        let secret = "whsec_bench"
        let clock = SystemClock()
        let inbox = WebhookInbox(database: db, clock: clock, logger: logger, secret: secret)
        let storers = min(c.pool, 8)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for s in 0..<storers {
                group.addTask(executorPreference: db.executor) {
                    for i in stride(from: s, to: c.events, by: storers) {
                        let body = #"{"id":"evt_bench_\#(i)","object":"event","type":"bench.noop","data":{"object":{}}}"#
                        let header = WebhookSignature.sign(payload: body, secret: secret, at: clock.now())
                        _ = try await inbox.receive(provider: "bench", payload: body, signatureHeader: header)
                    }
                }
            }
            try await group.waitForAll()
        }

        var registry = WebhookHandlerRegistry()
        registry.ignore("bench.noop")
        let workers = (0..<c.workers).map {
            RetryWorker(id: "bench-worker-\($0)", database: db, registry: registry, clock: clock, logger: logger)
        }
        let start = ContinuousClock.now
        try await withThrowingTaskGroup(of: Void.self) { group in
            for worker in workers {
                group.addTask(executorPreference: db.executor) {
                    while try await worker.runDue(limit: c.batch).claimed > 0 {}
                }
            }
            try await group.waitForAll()
        }
        let elapsed = ContinuousClock.now - start
        let processed: Int64 = try await db.withConnection { conn in
            try conn.queryFirst("SELECT COUNT(*) AS n FROM webhook_events WHERE state = \("processed")")?.decode("n") ?? 0
        }
        let seconds = elapsed.seconds
        return (seconds, processed)
    }
}
