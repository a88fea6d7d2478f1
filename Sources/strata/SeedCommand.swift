import ArgumentParser
import Foundation
import StrataDrivers
import StrataSeeds
import StrataSQL

/// `strata seed [agent-costs|plans|credit-packages|all]`: load the catalogues from seeds/.
struct Seed: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "seed",
        abstract: "Load the agent costs, plans and credit packages from the seeds folder.",
        discussion: """
            Every row of every file is validated first; a file with any problem loads nothing
            and each problem is printed as FILE:LINE: MESSAGE. Then one transaction inserts
            new rows, updates changed ones and leaves the rest, by natural key (agent_key,
            code, package_id), and records the run in strata_seed_history. Running it twice
            changes nothing the second time. --prune deactivates rows the file no longer has
            (they are never deleted).
            """)

    /// What to load: one catalogue or all of them.
    enum Target: String, ExpressibleByArgument, CaseIterable {
        case agentCosts = "agent-costs"
        case plans
        case creditPackages = "credit-packages"
        case all

        var kinds: [SeedKind] {
            switch self {
            case .agentCosts: [.agentCosts]
            case .plans: [.plans]
            case .creditPackages: [.creditPackages]
            case .all: SeedKind.allCases
            }
        }
    }

    @Argument(help: ArgumentHelp("agent-costs, plans, credit-packages or all.", valueName: "catalogue"))
    var target: Target = .all

    @Option(help: ArgumentHelp("The seeds folder.", valueName: "dir"))
    var seeds: String = "seeds"

    @Flag(help: "Validate and count what would change; write nothing.")
    var dryRun = false

    @Flag(help: "Deactivate active rows that the file no longer has.")
    var prune = false

    @OptionGroup var connection: ConnectionOptions
    @OptionGroup var output: OutputOptions

    func run() async throws {
        try await guarded(json: output.json) {
            let db = try connection.database(maxConnections: 1)
            let label = seeds.count > 1 && seeds.hasSuffix("/") ? String(seeds.dropLast()) : seeds
            let seeder = CatalogueSeeder(database: db, directory: URL(fileURLWithPath: seeds),
                                         directoryLabel: label, logger: connection.logger())
            let started = ContinuousClock.now
            let reports: [SeedReport]
            do {
                reports = try await seeder.seed(target.kinds, dryRun: dryRun, prune: prune)
            } catch let error as SeedError {
                await db.close()
                // Every problem on its own line: the one-line error of `guarded` would hide all but one.
                for problem in error.problems {
                    FileHandle.standardError.write(Data("strata: error: \(problem)\n".utf8))
                }
                let count = error.problems.count
                let summary = "nothing was loaded (\(count) problem\(count == 1 ? "" : "s"))"
                FileHandle.standardError.write(Data("strata: \(summary)\n".utf8))
                if output.json {
                    var document = ErrorReport(message: summary, code: "seed", exit: StrataExit.failure).document
                    document["problems"] = error.problems.map { "\($0)" }
                    printJSON(document)
                }
                throw ExitCode(StrataExit.failure)
            } catch {
                await db.close()
                throw error
            }
            let elapsed = ContinuousClock.now - started
            await db.close()
            if output.json {
                printJSON([
                    "command": "seed", "ok": true, "dry_run": dryRun, "prune": prune,
                    "seeds": reports.map { r in [
                        "kind": r.kind.rawValue, "file": r.file, "checksum": r.checksum, "rows": r.rows,
                        "inserted": r.inserted, "updated": r.updated, "unchanged": r.unchanged,
                        "deactivated": r.deactivated,
                    ] as [String: Any] },
                    "ms": milliseconds(elapsed),
                ] as [String: Any])
            } else {
                let kindWidth = reports.map(\.kind.rawValue.count).max() ?? 0
                let fileWidth = reports.map(\.file.count).max() ?? 0
                for r in reports {
                    let kind = r.kind.rawValue.padding(toLength: kindWidth, withPad: " ", startingAt: 0)
                    let file = r.file.padding(toLength: fileWidth, withPad: " ", startingAt: 0)
                    print("\(kind)  \(file)  \(r.summary)\(dryRun ? "  (dry run)" : "")")
                }
            }
        }
    }
}
