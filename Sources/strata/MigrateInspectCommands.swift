import ArgumentParser
import Foundation
import StrataDrivers
import StrataMigrations
import StrataSQL

struct MigrateStatus: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status", abstract: "Show applied, pending and failed migrations.",
        discussion: """
            With STRATA_REPLICA_URL (a hot standby), the history shown is read from the standby, \
            which may be a moment behind; with --exit-code, whose answer a pipeline acts on, it \
            is read from the primary. The lock and its holder are always the primary's.
            """)
    @OptionGroup var connection: ConnectionOptions
    @OptionGroup var migration: MigrationOptions
    @OptionGroup var output: OutputOptions
    @Flag(help: "Exit with 3 when migrations are pending, 5 when an applied one changed or is missing.") var exitCode = false

    func run() async throws {
        try await guarded(json: output.json) {
            try await migration.withMigrator(connection) { migrator in
                // A display tolerates the standby's lag; an exit code a pipeline acts on does not.
                let status = try await migrator.status(fromReplica: !exitCode)
                let holder = try await migrator.lockHolder()
                let choice = try await migrator.lockChoice()
                if output.json {
                    printJSON([
                        "command": "status",
                        "database": migrator.database.url.description,
                        "current": status.current?.description ?? NSNull(),
                        "pending": status.pending.count,
                        "problems": status.problems.count,
                        "lock": [
                            "kind": choice.kind?.rawValue ?? "none", "reason": choice.reason,
                            "holder": holder.map(lockHolderJSON) as Any? ?? NSNull(),
                        ] as [String: Any],
                        "migrations": status.entries.map { e in [
                            "version": e.version.description, "name": e.name, "state": e.state.rawValue,
                            "applied_at": e.record.map { $0.appliedAt.iso8601 } ?? NSNull(),
                            "applied_by": e.record?.appliedBy ?? NSNull(),
                            "execution_ms": e.record?.executionMilliseconds ?? NSNull(),
                            "statements_applied": e.record?.statementsApplied ?? NSNull(),
                            "statements_total": e.record?.statementsTotal ?? NSNull(),
                            "failed_statement": e.record?.failedStatement ?? NSNull(),
                            "uncertain_statement": e.record?.uncertainStatement.map { ["statement": $0.number, "line": $0.line] } ?? NSNull(),
                            "error": e.record?.error ?? NSNull(),
                            "detail": e.detail ?? NSNull(),
                        ] as [String: Any] },
                    ])
                } else {
                    print("database: \(migrator.database.url)")
                    for e in status.entries {
                        let when = e.record.map { " \($0.appliedAt.iso8601) by \($0.appliedBy)" } ?? ""
                        let state = e.state.rawValue.padding(toLength: 11, withPad: " ", startingAt: 0)
                        print("\(state) \(e.label)\(e.state == .pending ? "" : when)")
                        if let detail = e.detail { print("            \(detail)") }
                    }
                    print("\(status.entries.count - status.pending.count - status.problems.count) applied, \(status.pending.count) pending, \(status.problems.count) needing attention")
                    print("lock: \(choice.kind?.rawValue ?? "none") (\(choice.reason))")
                    if let holder {
                        print("lock held by \(holder.summary)\(holder.isExpired ? "; its lease has ended: the next run takes it over, or `strata migrate unlock` removes it" : "")")
                    }
                }
                if exitCode {
                    if status.entries.contains(where: { $0.state == .changed || $0.state == .missing }) { throw ExitCode(StrataExit.drift) }
                    if !status.pending.isEmpty || !status.problems.isEmpty { throw ExitCode(StrataExit.pending) }
                }
            }
        }
    }
}

struct MigrateValidate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "validate",
        abstract: "Check the files (names, pairs, SQL, both dialect folders) and, with a database, the applied checksums.")
    @OptionGroup var connection: ConnectionOptions
    @OptionGroup var migration: MigrationOptions
    @OptionGroup var output: OutputOptions

    func run() async throws {
        try await guarded(json: output.json) {
            var warnings: [String] = []
            var counts: [String: Int] = [:]
            // Without a database, both dialects are checked.
            let url = try? connection.url()
            let backends: [DatabaseURL.Backend] = url.map { [$0.backend] } ?? [.postgres, .mysql]
            for backend in backends {
                let set = try migration.load(for: backend)
                counts[backend.rawValue] = set.migrations.count
                warnings += set.warnings.map(\.description)
            }
            var drift: [String] = []
            if url != nil {
                drift = try await migration.withMigrator(connection) { try await $0.drift() }
            }
            if output.json {
                printJSON(["command": "validate", "ok": drift.isEmpty, "migrations": counts, "warnings": warnings, "drift": drift])
            } else {
                warnings.forEach { print($0) }
                drift.forEach { print("drift: \($0)") }
                let summary = counts.sorted { $0.key < $1.key }.map { "\($0.value) \($0.key)" }.joined(separator: ", ")
                print(drift.isEmpty ? "ok: \(summary) migrations valid" : "\(drift.count) applied migration(s) differ from their files")
            }
            if !drift.isEmpty { throw ExitCode(StrataExit.drift) }
        }
    }
}

struct MigrateNew: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "new", abstract: "Create an empty up/down pair with the next version, in every dialect folder.")
    @OptionGroup var migration: MigrationOptions
    @Argument(help: "The name: lower-case letters, digits and underscores.") var name: String
    @Flag(help: "Use a UTC timestamp (yyyyMMddHHmmss) as the version instead of the next number.") var timestamp = false

    func validate() throws {
        guard !name.isEmpty, name.utf8.allSatisfy({ (97...122).contains($0) || (48...57).contains($0) || $0 == 95 }) else {
            throw ValidationError("name '\(name)' must match [a-z0-9_]+")
        }
    }

    func run() async throws {
        try await guarded(json: false) {
            let fm = FileManager.default
            let root = URL(fileURLWithPath: migration.migrations)
            let dialectFolders = ["postgres", "mysql"].map { root.appendingPathComponent($0) }
                .filter { (try? $0.resourceValues(forKeys: [.isDirectoryKey]).isDirectory) == true }
            let folders = dialectFolders.isEmpty ? [root] : dialectFolders
            try fm.createDirectory(at: root, withIntermediateDirectories: true)
            // The widest and highest existing version decide the next one's spelling.
            var spellings: [String] = []
            for folder in folders {
                for file in (try? fm.contentsOfDirectory(atPath: folder.path)) ?? [] where file.hasSuffix(".sql") {
                    if let u = file.firstIndex(of: "_") { spellings.append(String(file[..<u])) }
                }
            }
            let versions = spellings.compactMap(MigrationVersion.init)
            let version: String
            if timestamp || spellings.contains(where: { $0.count >= 14 }) {
                let f = DateFormatter()
                f.dateFormat = "yyyyMMddHHmmss"
                f.timeZone = TimeZone(identifier: "UTC")
                f.locale = Locale(identifier: "en_US_POSIX")
                var stamp = f.string(from: Date())
                if let max = versions.max(), let s = MigrationVersion(stamp), s <= max { stamp = max.successor()!.description }
                version = stamp
            } else {
                let next = versions.max()?.successor()?.description ?? "1"
                let width = max(4, spellings.map(\.count).max() ?? 4)
                version = String(repeating: "0", count: max(0, width - next.count)) + next
            }
            for folder in folders {
                for direction in ["up", "down"] {
                    let path = folder.appendingPathComponent("\(version)_\(name).\(direction).sql")
                    guard !fm.fileExists(atPath: path.path) else { throw CLIError(description: "\(path.path) already exists") }
                    try Data("-- \(name) (\(direction))\n".utf8).write(to: path)
                    print("created \(path.path)")
                }
            }
        }
    }
}

struct MigrateBaseline: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "baseline", abstract: "Record every migration up to VERSION as applied without running it.")
    @OptionGroup var connection: ConnectionOptions
    @OptionGroup var migration: MigrationOptions
    @OptionGroup var output: OutputOptions
    @Argument var version: MigrationVersion

    func run() async throws {
        try await guarded(json: output.json) {
            try await migration.withMigrator(connection) { migrator in
                let versions = try await migrator.baseline(version)
                if output.json {
                    printJSON(["command": "baseline", "ok": true, "versions": versions.map(\.description)])
                } else {
                    print("baselined \(versions.count) migration(s) up to \(version)")
                }
            }
        }
    }
}

struct MigrateRepair: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "repair",
        abstract: "Mark a failed migration as fixed by hand, or accept a changed file's checksum (recorded with who and when).")
    @OptionGroup var connection: ConnectionOptions
    @OptionGroup var migration: MigrationOptions
    @OptionGroup var output: OutputOptions
    @Argument var version: MigrationVersion
    @Flag(help: "The statement a dead run left of unknown outcome did complete: resume after it.")
    var completed = false
    @Flag(help: "The statement a dead run left of unknown outcome did not complete: run it again.")
    var notCompleted = false

    func validate() throws {
        if completed && notCompleted { throw ValidationError("--completed and --not-completed exclude each other") }
    }

    func run() async throws {
        try await guarded(json: output.json) {
            try await migration.withMigrator(connection) { migrator in
                let uncertain: Migrator.UncertainOutcome? = completed ? .completed : notCompleted ? .notCompleted : nil
                let what = try await migrator.repair(version, uncertain: uncertain)
                if output.json { printJSON(["command": "repair", "ok": true, "result": what]) } else { print(what) }
            }
        }
    }
}

struct MigrateWait: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "wait", abstract: "Wait until the database accepts connections.",
        discussion: "The timeout bounds the whole wait: no connection attempt outlasts it, whatever the URL's connect_timeout.")
    @OptionGroup var connection: ConnectionOptions
    @OptionGroup var output: OutputOptions
    @Option(parsing: .unconditional, help: ArgumentHelp("Give up after this many seconds.", valueName: "seconds"))
    var timeout: Int = 60

    func validate() throws {
        guard timeout > 0 else { throw ValidationError("--timeout must be 1 or more seconds, not \(timeout)") }
    }

    func run() async throws {
        try await guarded(json: output.json) {
            let url = try connection.url()
            let deadline = ContinuousClock.now + .seconds(timeout)
            var attempts = 0
            while true {
                attempts += 1
                // Each attempt may wait only for what is left, rounded up to the whole seconds
                // the C libraries take, so the URL's connect_timeout cannot stretch the wait.
                let left = deadline - ContinuousClock.now
                var attemptURL = url
                attemptURL.connectTimeout = min(url.connectTimeout, max(1, Int(left.components.seconds) + (left.components.attoseconds > 0 ? 1 : 0)))
                let db = Database(url: attemptURL, maxConnections: 1, logger: connection.logger())
                do {
                    _ = try await db.withConnection { try $0.query("SELECT 1 AS one") }
                    await db.close()
                    if output.json { printJSON(["command": "wait", "ok": true, "attempts": attempts]) }
                    else { print("database is accepting connections (\(url))") }
                    return
                } catch let e as DatabaseError where [.connectionRefused, .connectionLost, .timeout].contains(e.category) {
                    await db.close()
                    let left = deadline - ContinuousClock.now
                    // A server that accepts and never answers would hold the next attempt for
                    // up to two seconds (libpq's least connect timeout): past the deadline, so stop.
                    let nextAttemptFits = e.category != .timeout || left >= .seconds(2)
                    guard left > .zero, nextAttemptFits else {
                        throw CLIError(description: "database not reachable after \(timeout) s (\(attempts) attempt\(attempts == 1 ? "" : "s")): \(e)", code: "connection")
                    }
                    try await Task.sleep(for: min(.milliseconds(500), left))
                } catch {
                    await db.close()
                    throw error
                }
            }
        }
    }
}
