import ArgumentParser
import Foundation
import StrataDrivers
import StrataMigrations
import StrataSQL

struct MigrateVerify: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "On an empty scratch database, run every migration up, down and up again, and check each down restores the schema.")
    @OptionGroup var connection: ConnectionOptions
    @OptionGroup var migration: MigrationOptions
    @OptionGroup var output: OutputOptions
    @Option(help: ArgumentHelp("An empty database verify may change (default: --database-url / DATABASE_URL).", valueName: "url"))
    var scratchURL: String?

    func run() async throws {
        try await guarded(json: output.json) {
            var scratch = connection
            if let scratchURL { scratch.databaseURL = scratchURL }
            try await migration.withMigrator(scratch) { migrator in
                let json = output.json
                let report = try await migrator.verify { line in
                    if !json { print(line); fflush(nil) }
                }
                if output.json {
                    printJSON([
                        "command": "verify", "ok": report.failure == nil, "verified": report.verified,
                        "skipped": report.skipped, "failed_migration": report.failure.map { $0.migration as Any } ?? NSNull(),
                        "differences": report.failure?.differences ?? [],
                    ])
                } else if let failure = report.failure {
                    print("FAIL \(failure.migration): the schema after its down differs from the schema before its up:")
                    failure.differences.forEach { print("  \($0)") }
                } else {
                    print("verified \(report.verified.count) migration(s): every down restores the schema")
                }
                if let failure = report.failure {
                    throw MigrationError.schemaMismatch("verify: migration \(failure.migration) does not restore the schema: \(failure.differences.first ?? "")\(failure.differences.count > 1 ? " (and \(failure.differences.count - 1) more)" : "")")
                }
            }
        }
    }
}

struct MigrateParity: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "parity",
        abstract: "Compare the PostgreSQL and MySQL schemas the same migrations produce (tables, columns by type family, keys, indexes, constraints).")
    @OptionGroup var migration: MigrationOptions
    @OptionGroup var output: OutputOptions
    @Option(help: ArgumentHelp("The PostgreSQL database.", valueName: "url")) var postgresURL: String
    @Option(help: ArgumentHelp("The MySQL/MariaDB database.", valueName: "url")) var mysqlURL: String
    @Flag(help: "Apply pending migrations to both databases first.") var apply = false
    @Option(help: ArgumentHelp("Log level.", valueName: "level")) var logLevel: String = "warning"

    func run() async throws {
        try await guarded(json: output.json) {
            var pg = ConnectionOptions(), my = ConnectionOptions()
            pg.databaseURL = postgresURL
            my.databaseURL = mysqlURL
            pg.logLevel = logLevel
            my.logLevel = logLevel
            guard try pg.url().backend == .postgres else { throw CLIError.usage("--postgres-url must be a postgres:// URL") }
            guard try my.url().backend == .mysql else { throw CLIError.usage("--mysql-url must be a mysql:// URL") }
            try await migration.withMigrator(pg) { a in
                try await migration.withMigrator(my) { b in
                    if apply {
                        try await a.run(.up())
                        try await b.run(.up())
                    }
                    let differences = try await Migrator.parity(a, b)
                    if output.json {
                        printJSON(["command": "parity", "ok": differences.isEmpty, "differences": differences])
                    } else if differences.isEmpty {
                        let tables = try await a.snapshot().tables.count
                        print("parity: postgres and mysql schemas agree (\(tables) tables)")
                    } else {
                        print("parity: \(differences.count) difference(s):")
                        differences.forEach { print("  \($0)") }
                    }
                    if !differences.isEmpty { throw ExitCode(StrataExit.schemaMismatch) }
                }
            }
        }
    }
}
