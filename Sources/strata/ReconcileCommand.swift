import ArgumentParser
import Foundation
import StrataBilling
import StrataSQL

/// `strata reconcile`: checks that every payment of a period landed exactly once.
struct Reconcile: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "reconcile",
        abstract: "Check a period's payments against the ledger, invoices and webhook events; store and audit what is wrong.",
        discussion: """
            Checks [--since, --until): every processed, paid checkout event has exactly one \
            purchase of its package's credits; every purchase has its checkout event; every \
            paid invoice has its payment (a processed invoice.payment_succeeded, amount paid \
            covering the amount due); every wallet's ledger verifies and none is negative; \
            no webhook event is stuck in processing past its lease. With --provider-csv, the \
            provider's payments export (header id,customer,amount,currency,created; amount \
            in minor units) is matched against the stored payment events.

            The run is stored; each discrepancy is audited (reconcile.discrepancy) the first \
            time a run finds it, never again. Times are ISO 8601 in UTC; --since defaults \
            to the beginning, --until to now. Exits 0 when clean, 10 when discrepancies \
            were found, 64 for bad input (a malformed CSV names its file and line).
            """)

    @Option(help: ArgumentHelp("The period's start, inclusive (default: the beginning).", valueName: "iso8601"))
    var since: String?

    @Option(help: ArgumentHelp("The period's end, exclusive (default: now).", valueName: "iso8601"))
    var until: String?

    @Option(help: ArgumentHelp("The provider's payments export to match (id,customer,amount,currency,created).",
                               valueName: "file"))
    var providerCsv: String?

    @OptionGroup var connection: ConnectionOptions
    @OptionGroup var change: BillingChangeOptions
    @OptionGroup var output: OutputOptions

    func validate() throws {
        let start = try Audit.time(since, option: "--since")
        let end = try Audit.time(until, option: "--until")
        if let start, let end, end <= start {
            throw ValidationError("--until must be after --since")
        }
    }

    func run() async throws {
        var found = false
        try await guarded(json: output.json) {
            let file: ProviderPaymentsFile?
            do {
                file = try providerCsv.map { try ProviderPaymentsFile(path: $0) }
            } catch let error as ReconciliationError {
                throw CLIError.usage("\(error)")
            }
            try await withBillingDatabase(connection, maxConnections: 1) { db in
                let service = ReconciliationService(database: db, logger: connection.logger())
                let report: ReconciliationReport
                do {
                    report = try await service.run(since: try Audit.time(since, option: "--since"),
                                                   until: try Audit.time(until, option: "--until"),
                                                   providerFile: file, context: change.context())
                } catch let error as ReconciliationError {
                    throw CLIError.usage("\(error)")
                }
                found = !report.isClean
                if output.json {
                    let data = try JSONEncoder().encode(report)
                    let run = try JSONSerialization.jsonObject(with: data)
                    printJSON(["command": "reconcile", "clean": report.isClean, "run": run])
                    return
                }
                Self.printText(report)
            }
        }
        if found { throw ExitCode(StrataExit.discrepancies) }
    }

    static func printText(_ report: ReconciliationReport) {
        let c = report.counts
        print("reconciliation run \(report.runID): \(report.since.iso8601) to \(report.until.iso8601)")
        var checked = "checked \(c.checkoutEvents) checkout sessions, \(c.purchases) purchases, \(c.invoices) paid invoices, \(c.wallets) wallets"
        if report.providerFileSHA256 != nil { checked += ", \(c.providerRows) provider payments" }
        print(checked)
        if report.isClean {
            print("clean: no discrepancies")
            return
        }
        print("\(report.discrepancies.count) discrepancies (\(report.newDiscrepancies) new): \(report.discrepancyCredits) credits, \(report.discrepancyMinorUnits) minor units")
        for d in report.discrepancies {
            let amount: String
            switch d.unit {
            case .credits: amount = "\(d.amount) credits"
            case .minorUnits: amount = "\(d.amount) \(d.currency ?? "minor units")"
            case .none: amount = "-"
            }
            let details = d.details.sorted { $0.key < $1.key }.filter { !$0.value.isEmpty }
                .map { "\($0.key)=\($0.value)" }.joined(separator: " ")
            print("  \(d.kind.rawValue)  \(d.subjectType) \(d.subjectID)  \(amount)\(d.isNew ? "  (new)" : "")  \(details)")
        }
    }
}
