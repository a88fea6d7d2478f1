import ArgumentParser

/// `strata`: migrations, seeds and the billing services of one database.
@main
struct Strata: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "strata",
        abstract: "Owns a billing database's schema and runs its services on PostgreSQL or MySQL/MariaDB.",
        discussion: """
            The database comes from --database-url or DATABASE_URL:
              postgres://user:password@host:port/db   mysql://user:password@host:port/db

            Exit codes: 0 success, 1 failure, 3 pending migrations (status --exit-code),
            4 lock timeout, 5 drift (applied migration changed or missing), 6 schema mismatch
            (verify, parity), 7 insufficient credits, 8 lint errors, 9 not found (invoices),
            64 usage error.
            """,
        version: "0.1.0",
        subcommands: [Migrate.self, Seed.self, Wallet.self, Agents.self, Plans.self, Grace.self, Webhooks.self, Invoices.self, Reconcile.self, Audit.self, DB.self, Serve.self]
    )

    /// Parses the arguments and runs the command.
    ///
    /// In place of the library's `main` so that an argument error reads like every other
    /// error: one line, `strata: error: …`, naming the `--help` to turn to (and, with
    /// `--json`, one JSON error document). `--help` and `--version` print as usual.
    static func main() async {
        let arguments = Array(CommandLine.arguments.dropFirst())
        let command: any ParsableCommand
        do {
            command = try parseAsRoot(arguments)
        } catch {
            guard exitCode(for: error) != .success else { exit(withError: error) }
            let report = ErrorReport(usage: error, arguments: arguments)
            report.print(json: arguments.contains("--json"))
            exit(withError: ExitCode(report.exit))
        }
        do {
            if var asyncCommand = command as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                var syncCommand = command
                try syncCommand.run()
            }
        } catch {
            exit(withError: error)
        }
    }
}
