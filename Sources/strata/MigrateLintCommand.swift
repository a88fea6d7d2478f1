import ArgumentParser
import Foundation
import StrataDrivers
import StrataMigrations
import StrataSQL

/// `strata migrate lint`: the migration files' static analysis, for a pull request's CI.
///
/// No database is needed; with one, `--pending` judges only what it has not applied.
/// The exit status is what a pipeline acts on: 0 when no error-level finding is left
/// unwaived (warnings allowed), ``StrataExit/lintFailed`` otherwise.
struct MigrateLint: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lint",
        abstract: "Find destructive, data-dependent and locking changes in the migration files (no database needed).",
        discussion: """
            Each finding prints as file:line: CODE severity: message, with the safer way under it. \
            Waive one with a comment on or above the statement: -- strata:lint-ignore CODE reason. \
            Exits 8 when an error-level finding is not waived; warnings and notices never fail. \
            The README lists the rules.
            """)

    /// How findings are printed.
    enum Format: String, ExpressibleByArgument, CaseIterable {
        case text, json, github
    }

    @OptionGroup var connection: ConnectionOptions
    @OptionGroup var migration: MigrationOptions
    @OptionGroup var output: OutputOptions
    @Option(help: ArgumentHelp("text, json (as --json) or github (GitHub Actions annotations).", valueName: "format"))
    var format: Format?
    @Option(help: ArgumentHelp("Judge versions from this one on; earlier ones only build the schema.", valueName: "version"))
    var since: MigrationVersion?
    @Flag(help: "Judge only the migrations the database (DATABASE_URL) has not applied.")
    var pending = false
    @Option(help: ArgumentHelp("Lint one dialect's folder: postgres or mysql (default: every folder present).",
                               valueName: "dialect"))
    var dialect: String?

    func validate() throws {
        if since != nil && pending { throw ValidationError("--since and --pending exclude each other") }
        if output.json, let format, format != .json { throw ValidationError("--json and --format \(format.rawValue) exclude each other") }
        if let dialect, SQLSplitDialect(rawValue: dialect) == nil {
            throw ValidationError("--dialect must be postgres or mysql, not '\(dialect)'")
        }
    }

    private var effectiveFormat: Format { output.json ? .json : format ?? .text }

    func run() async throws {
        let format = effectiveFormat
        try await guarded(json: format == .json) {
            var dialects = dialect.flatMap(SQLSplitDialect.init(rawValue:)).map { [$0] }
            var scope = LintScope.all
            if let since { scope = .since(since) }
            if pending {
                let url = try connection.url()
                let backend = SQLSplitDialect(url.backend)
                if let dialects, dialects != [backend] {
                    throw CLIError.usage("--dialect \(dialects[0].rawValue) does not match the database, which is \(backend.rawValue)")
                }
                dialects = [backend]
                scope = .excluding(try await appliedVersions(url))
            }
            let label = migration.migrations.hasSuffix("/") ? String(migration.migrations.dropLast()) : migration.migrations
            let report = try MigrationLinter.lint(directory: URL(fileURLWithPath: migration.migrations), dialects: dialects,
                                                  scope: scope, label: label)
            switch format {
            case .text: printText(report)
            case .json: printJSON(jsonDocument(report))
            case .github: printGitHub(report)
            }
            if !report.passes { throw ExitCode(StrataExit.lintFailed) }
        }
    }

    /// The versions the database's history records as applied or baselined.
    private func appliedVersions(_ url: DatabaseURL) async throws -> Set<MigrationVersion> {
        var options = MigratorOptions()
        options.historyTable = migration.historyTable
        let db = Database(url: url, maxConnections: 1, logger: connection.logger())
        do {
            let migrator = try Migrator(database: db, migrations: MigrationSet(dialect: SQLSplitDialect(url.backend), migrations: []),
                                        options: options, logger: connection.logger())
            let records = try await migrator.records()
            await db.close()
            return Set(records.filter(\.isApplied).map(\.version))
        } catch {
            await db.close()
            throw error
        }
    }

    private func summary(_ report: LintReport) -> String {
        func plural(_ n: Int, _ word: String) -> String { "\(n) \(word)\(n == 1 ? "" : "s")" }
        let migrations = report.migrationsLinted.sorted { $0.key.rawValue > $1.key.rawValue }
            .map { "\($0.value) \($0.key.rawValue)" }.joined(separator: " and ")
        let verdict = report.passes ? "ok" : "failed"
        return "lint \(verdict): \(plural(report.count(.error), "error")), \(plural(report.count(.warning), "warning")), "
            + "\(plural(report.count(.notice), "notice")), \(report.waivedCount) waived in \(migrations.isEmpty ? "no" : migrations) migrations"
    }

    private func printText(_ report: LintReport) {
        for finding in report.findings {
            print(finding)
            if !finding.isWaived { print("    hint: \(finding.rule.hint)") }
        }
        print(summary(report))
    }

    /// GitHub Actions workflow commands: one annotation per open finding, on the
    /// pull request's diff. Waived findings are not annotated.
    private func printGitHub(_ report: LintReport) {
        func escapeData(_ s: String) -> String {
            s.replacingOccurrences(of: "%", with: "%25").replacingOccurrences(of: "\r", with: "%0D")
                .replacingOccurrences(of: "\n", with: "%0A")
        }
        func escapeProperty(_ s: String) -> String {
            escapeData(s).replacingOccurrences(of: ":", with: "%3A").replacingOccurrences(of: ",", with: "%2C")
        }
        for finding in report.open {
            let squawk = finding.squawkRule.map { " (squawk: \($0))" } ?? ""
            let title = escapeProperty("\(finding.rule.code) \(finding.rule.title)\(squawk)")
            print("::\(finding.severity.rawValue) file=\(escapeProperty(finding.file)),line=\(finding.line),title=\(title)::"
                  + escapeData("\(finding.message)\nhint: \(finding.rule.hint)"))
        }
        print(summary(report))
    }

    private func jsonDocument(_ report: LintReport) -> [String: Any] {
        [
            "command": "lint",
            "ok": report.passes,
            "findings": report.findings.map { f in [
                "file": f.file, "line": f.line, "code": f.rule.code, "severity": f.severity.rawValue,
                "dialect": f.dialect.rawValue, "message": f.message, "hint": f.rule.hint,
                "title": f.rule.title, "squawk": f.squawkRule ?? NSNull(),
                "waived": f.isWaived, "waiver_reason": f.waiver?.reason ?? NSNull(),
            ] as [String: Any] },
            "summary": [
                "errors": report.count(.error), "warnings": report.count(.warning), "notices": report.count(.notice),
                "waived": report.waivedCount, "files": report.filesLinted,
                "migrations": Dictionary(uniqueKeysWithValues: report.migrationsLinted.map { ($0.key.rawValue, $0.value) }),
            ] as [String: Any],
        ]
    }
}
