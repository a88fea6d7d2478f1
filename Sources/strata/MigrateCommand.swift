import ArgumentParser
import Foundation
import StrataDrivers
import StrataMigrations
import StrataSQL

/// `strata migrate …`: versioned up/down SQL.
struct Migrate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Apply, revert, check and inspect schema migrations.",
        subcommands: [
            MigrateUp.self, MigrateDown.self, MigrateRedo.self, MigrateGoto.self, MigrateStatus.self,
            MigrateValidate.self, MigratePlan.self, MigrateNew.self, MigrateBaseline.self, MigrateRepair.self,
            MigrateWait.self, MigrateVerify.self, MigrateParity.self, MigrateLint.self, MigrateUnlock.self,
        ]
    )
}

/// Where the migration files are and how runs coordinate.
struct MigrationOptions: ParsableArguments {
    @Option(help: ArgumentHelp("The migrations folder: with postgres/ and mysql/ inside, or one dialect's files.", valueName: "dir"))
    var migrations: String = "migrations"

    @Option(help: ArgumentHelp("The history table.", valueName: "name"))
    var historyTable: String = "strata_schema_history"

    @Option(help: ArgumentHelp("Seconds to wait for another run's lock.", valueName: "seconds"))
    var lockTimeout: Int = 60

    @Option(help: ArgumentHelp("The lock that keeps runs apart: session (advisory lock / GET_LOCK), table (a lease row in strata_migration_lock, for Galera and transaction poolers), none, or auto: table on a Galera node or behind a transaction pooler, session elsewhere.", valueName: "auto|session|table|none"))
    var lock: MigrationLockMode = .auto

    @Option(help: ArgumentHelp("Seconds a table lock's lease lasts unless renewed: how long a run that died keeps others out.", valueName: "seconds"))
    var lockLease: Int = 30

    @Flag(help: "Take no lock: the same as --lock none. Only one run at a time then!")
    var noLock = false

    @Flag(help: "Apply a pending migration older than the latest applied one.")
    var outOfOrder = false

    func validate() throws {
        guard lockTimeout >= 0 else { throw ValidationError("--lock-timeout must be 0 or more seconds, not \(lockTimeout)") }
        guard lockLease >= 1 else { throw ValidationError("--lock-lease must be 1 or more seconds, not \(lockLease)") }
        if noLock && lock != .auto && lock != .none {
            throw ValidationError("--no-lock and --lock \(lock.rawValue) exclude each other")
        }
    }

    func load(for backend: DatabaseURL.Backend) throws -> MigrationSet {
        let dialect = SQLSplitDialect(backend)
        return try MigrationLoader.load(directory: URL(fileURLWithPath: migrations), dialect: dialect)
    }

    func migrator(_ connection: ConnectionOptions) throws -> Migrator {
        let url = try connection.url()
        let set = try load(for: url.backend)
        var options = MigratorOptions()
        options.historyTable = historyTable
        options.lockTimeout = .seconds(lockTimeout)
        options.lockMode = noLock ? .none : lock
        options.lockLease = .seconds(lockLease)
        options.allowOutOfOrder = outOfOrder
        options.directoryLabel = migrations.hasSuffix("/") ? String(migrations.dropLast()) : migrations
        // With STRATA_REPLICA_URL, only `migrate status`'s display reads from the standby.
        let db = try connection.database(maxConnections: 2)
        return try Migrator(database: db, migrations: set, options: options, logger: connection.logger())
    }

    /// Runs `body` with a ``migrator(_:)`` and closes its database before returning,
    /// whatever `body` does.
    ///
    /// The close is awaited: a command that returned with its connections still closing
    /// would exit while the pool's threads run libpq's or libmariadb's code, and the
    /// process's exit handlers could then free the libraries' state under them.
    func withMigrator<T>(_ connection: ConnectionOptions, _ body: (Migrator) async throws -> T) async throws -> T {
        let migrator = try migrator(connection)
        let result: T
        do {
            result = try await body(migrator)
        } catch {
            await migrator.database.close()
            throw error
        }
        await migrator.database.close()
        return result
    }
}

/// Prints one line a migration as it runs, or collects them for `--json`.
final class ProgressPrinter: @unchecked Sendable {
    let json: Bool
    init(json: Bool) { self.json = json }

    func handle(_ event: MigrationEvent) {
        guard !json else { return }
        switch event {
        case .waitingForLock:
            print("waiting for the migration lock (another run holds it)…")
        case .started:
            break
        case .finished(let step, let duration):
            let arrow = step.direction == .up ? "up  " : "down"
            let resumed = step.resumeAt > 0 ? ", resumed at \(step.resumeAt + 1)" : ""
            let count = step.statements.count
            print("\(arrow) \(step.label)  (\(count) statement\(count == 1 ? "" : "s")\(resumed))  \(formatMilliseconds(duration))")
        }
        fflush(nil)
    }
}

/// Runs a request and prints what it did.
func runMigration(_ request: MigrationRequest, migration: MigrationOptions, connection: ConnectionOptions,
                  output: OutputOptions, dryRun: Bool, verb: String) async throws {
    try await guarded(json: output.json) {
        try await migration.withMigrator(connection) { migrator in
            for warning in migrator.migrations.warnings where !output.json {
                FileHandle.standardError.write(Data("strata: \(warning)\n".utf8))
            }
            if dryRun {
                let steps = try await migrator.plan(request)
                printPlan(steps, json: output.json, command: verb)
                return
            }
            let printer = ProgressPrinter(json: output.json)
            let started = ContinuousClock.now
            let report = try await migrator.run(request) { printer.handle($0) }
            let total = ContinuousClock.now - started
            if output.json {
                printJSON([
                    "command": verb,
                    "ok": true,
                    "migrations": report.completed.map { c in [
                        "version": c.step.migration.version.description, "name": c.step.migration.name,
                        "direction": c.step.direction.rawValue, "statements": c.step.statements.count,
                        "resumed_at": c.step.resumeAt > 0 ? c.step.resumeAt + 1 : NSNull() as Any,
                        "ms": milliseconds(c.duration),
                    ] as [String: Any] },
                    "forgotten": report.forgotten.map { ["version": $0.version.description, "name": $0.name] },
                    "lock_wait_ms": milliseconds(report.lockWait),
                    "total_ms": milliseconds(total),
                ])
                return
            }
            for record in report.forgotten {
                print("forgot \(record.version)_\(record.name): it failed before any statement was applied, and is pending again")
            }
            if report.completed.isEmpty {
                print("nothing to do: the database is \(verb == "down" ? "at the requested version" : "up to date")")
            } else {
                print("\(report.completed.count) migration\(report.completed.count == 1 ? "" : "s") \(verb == "down" ? "reverted" : "applied") in \(formatMilliseconds(total))")
            }
        }
    }
}

func printPlan(_ steps: [MigrationStep], json: Bool, command: String) {
    if json {
        printJSON(["command": command, "dry_run": true, "steps": steps.map { s in [
            "version": s.migration.version.description, "name": s.migration.name, "direction": s.direction.rawValue,
            "file": s.script.file.path, "resume_at": s.resumeAt + 1,
            "statements": s.statements.dropFirst(s.resumeAt).map { ["line": $0.line, "sql": $0.text] as [String: Any] },
        ] as [String: Any] }])
        return
    }
    if steps.isEmpty { print("nothing to do"); return }
    for s in steps {
        print("-- \(s.direction.rawValue) \(s.label) (\(s.script.file.path))\(s.resumeAt > 0 ? ", resuming at statement \(s.resumeAt + 1)" : "")")
        for st in s.statements.dropFirst(s.resumeAt) {
            print("-- line \(st.line)")
            print(st.text + ";")
        }
    }
}

struct MigrateUp: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "up", abstract: "Apply pending migrations.")
    @OptionGroup var connection: ConnectionOptions
    @OptionGroup var migration: MigrationOptions
    @OptionGroup var output: OutputOptions
    @Option(help: ArgumentHelp("Apply up to and including this version.", valueName: "version")) var to: MigrationVersion?
    @Option(help: ArgumentHelp("Apply at most this many migrations.", valueName: "n")) var steps: Int?
    @Flag(help: "Print the statements that would run, and run nothing.") var dryRun = false

    func validate() throws {
        if to != nil && steps != nil { throw ValidationError("--to and --steps exclude each other") }
        if let steps, steps < 1 { throw ValidationError("--steps must be at least 1, not \(steps)") }
    }

    func run() async throws {
        try await runMigration(.up(to: to, steps: steps), migration: migration,
                               connection: connection, output: output, dryRun: dryRun, verb: "up")
    }
}

struct MigrateDown: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "down", abstract: "Revert migrations: one with no option, more with --steps, --to or --all.")
    @OptionGroup var connection: ConnectionOptions
    @OptionGroup var migration: MigrationOptions
    @OptionGroup var output: OutputOptions
    @Option(help: ArgumentHelp("Revert this many migrations.", valueName: "n")) var steps: Int?
    @Option(help: ArgumentHelp("Revert every migration above this version.", valueName: "version")) var to: MigrationVersion?
    @Flag(help: "Revert every applied migration.") var all = false
    @Flag(help: "Print the statements that would run, and run nothing.") var dryRun = false

    func validate() throws {
        if [steps != nil, to != nil, all].filter({ $0 }).count > 1 {
            throw ValidationError("--steps, --to and --all exclude each other")
        }
        if let steps, steps < 1 { throw ValidationError("--steps must be at least 1, not \(steps)") }
    }

    func run() async throws {
        let target: DownTarget = all ? .all : to.map(DownTarget.to) ?? .steps(steps ?? 1)
        try await runMigration(.down(target), migration: migration, connection: connection, output: output,
                               dryRun: dryRun, verb: "down")
    }
}

struct MigrateRedo: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "redo", abstract: "Revert the latest migration and apply it again.")
    @OptionGroup var connection: ConnectionOptions
    @OptionGroup var migration: MigrationOptions
    @OptionGroup var output: OutputOptions
    @Flag(help: "Print the statements that would run, and run nothing.") var dryRun = false

    func run() async throws {
        try await runMigration(.redo, migration: migration, connection: connection, output: output, dryRun: dryRun, verb: "redo")
    }
}

struct MigrateGoto: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "goto", abstract: "Migrate up or down to exactly a version.")
    @OptionGroup var connection: ConnectionOptions
    @OptionGroup var migration: MigrationOptions
    @OptionGroup var output: OutputOptions
    @Argument(help: "The version to end at.") var version: MigrationVersion
    @Flag(help: "Print the statements that would run, and run nothing.") var dryRun = false

    func run() async throws {
        try await runMigration(.goto(version), migration: migration, connection: connection,
                               output: output, dryRun: dryRun, verb: "goto")
    }
}

struct MigratePlan: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "plan", abstract: "Show the statements `up` (or `down`) would run, without running them.")
    @OptionGroup var connection: ConnectionOptions
    @OptionGroup var migration: MigrationOptions
    @OptionGroup var output: OutputOptions
    @Flag(help: "Plan a one-step down instead of up.") var down = false

    func run() async throws {
        try await runMigration(down ? .down(.steps(1)) : .up(), migration: migration, connection: connection,
                               output: output, dryRun: true, verb: "plan")
    }
}
