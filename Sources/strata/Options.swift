import ArgumentParser
import Foundation
import Logging
import StrataDrivers
import StrataSQL

/// Where the database is and how loudly to log.
struct ConnectionOptions: ParsableArguments {
    @Option(name: .customLong("database-url"), help: ArgumentHelp(
        "The database URL (default: $DATABASE_URL). Prefer the variable: a flag lands in shell history.",
        valueName: "url"))
    var databaseURL: String?

    @Option(help: ArgumentHelp("Log level: trace, debug, info, notice, warning, error, critical.", valueName: "level"))
    var logLevel: String = "warning"

    func validate() throws {
        guard Logger.Level(rawValue: logLevel) != nil else {
            let levels = Logger.Level.allCases.map(\.rawValue).joined(separator: ", ")
            throw ValidationError("--log-level must be one of \(levels), not '\(logLevel)'")
        }
    }

    /// The URL from the flag or the environment.
    func url() throws -> DatabaseURL {
        guard let raw = databaseURL ?? ProcessInfo.processInfo.environment["DATABASE_URL"], !raw.isEmpty else {
            throw CLIError.usage("no database: pass --database-url or set DATABASE_URL")
        }
        return try DatabaseURL(raw)
    }

    /// The hot standby for reads that tolerate its lag, from `STRATA_REPLICA_URL`
    /// (unset or empty: none). It must name the primary's backend.
    func replicaURL(for primary: DatabaseURL) throws -> DatabaseURL? {
        guard let raw = ProcessInfo.processInfo.environment["STRATA_REPLICA_URL"], !raw.isEmpty else { return nil }
        let replica: DatabaseURL
        do {
            replica = try DatabaseURL(raw)
        } catch let error as DatabaseError {
            throw CLIError.usage("STRATA_REPLICA_URL: \(error.message)")
        }
        guard replica.backend == primary.backend else {
            throw CLIError.usage("STRATA_REPLICA_URL is a \(replica.backend.rawValue) URL; the database is \(primary.backend.rawValue)")
        }
        return replica
    }

    func logger() -> Logger {
        CLILogging.logger(level: Logger.Level(rawValue: logLevel) ?? .warning)
    }

    func database(maxConnections: Int = 2) throws -> Database {
        let url = try url()
        return Database(url: url, maxConnections: maxConnections, replica: try replicaURL(for: url), logger: logger())
    }
}

/// `--json` for pipelines: one JSON document on stdout per command.
struct OutputOptions: ParsableArguments {
    @Flag(help: "Print one JSON document instead of text.")
    var json = false
}

/// The CLI's one logger: to stderr, so stdout stays for results.
enum CLILogging {
    nonisolated(unsafe) private static var bootstrapped = false

    static func logger(level: Logger.Level) -> Logger {
        if !bootstrapped {
            bootstrapped = true
            LoggingSystem.bootstrap { label in
                StandardErrorLogHandler(label: label)
            }
        }
        var logger = Logger(label: "strata")
        logger.logLevel = level
        return logger
    }
}

/// Runs a command body, turning any error into one line on stderr and its exit code,
/// and, with `json`, one JSON error document on stdout (see ``ErrorReport``).
///
/// SIGINT or SIGTERM stops the body cleanly (see ``Interruption``) and exits 130 or 143.
func guarded(json: Bool, _ body: () async throws -> Void) async throws {
    do {
        try await Interruption.cancellingOnSignal(body)
    } catch let exit as ExitCode {
        throw exit
    } catch {
        var report = ErrorReport(error)
        if let signo = Interruption.received {
            report = ErrorReport(message: "stopped by \(Interruption.name(signo)): \(report.message)", code: "interrupted", exit: 128 + signo)
        }
        report.print(json: json)
        throw ExitCode(report.exit)
    }
    if let signo = Interruption.received {
        // The signal came after the last statement: the work is done, but the caller asked to stop.
        let report = ErrorReport(message: "stopped by \(Interruption.name(signo)) after the command had finished its work",
                                 code: "interrupted", exit: 128 + signo)
        report.print(json: json)
        throw ExitCode(report.exit)
    }
}

/// Prints a JSON document with sorted keys on one line.
func printJSON(_ object: Any) {
    let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data("{}".utf8)
    print(String(decoding: data, as: UTF8.self))
}

/// Milliseconds with one decimal, for progress lines.
func formatMilliseconds(_ d: Duration) -> String {
    String(format: "%.1f ms", d.seconds * 1000)
}

/// Milliseconds rounded to one decimal, for JSON output.
func milliseconds(_ d: Duration) -> Double {
    (d.seconds * 10_000).rounded() / 10
}
