import ArgumentParser
import Foundation
import StrataBilling
import StrataDrivers
import StrataSQL

/// `strata audit`: read the billing audit log.
struct Audit: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "audit", abstract: "Show billing audit rows, newest first.",
        discussion: """
            Every change the billing services make writes one row: when, who
            (actor), what (action), on what (subject type and id), the request id
            and JSON details. Wallet rows have subject type `wallet` and the
            customer's external id as subject.

            Times are ISO 8601 in UTC (2026-01-31T12:00:00Z, or a date); --since
            is inclusive, --until exclusive.
            """)

    @Option(help: ArgumentHelp("Only this subject type (wallet, subscription, …).", valueName: "type"))
    var subjectType: String?

    @Option(help: ArgumentHelp("Only this subject id (for wallets: the customer).", valueName: "id"))
    var subject: String?

    @Option(help: ArgumentHelp("Rows at or after this time.", valueName: "iso8601"))
    var since: String?

    @Option(help: ArgumentHelp("Rows before this time.", valueName: "iso8601"))
    var until: String?

    @Option(help: ArgumentHelp("The most rows to show.", valueName: "n"))
    var limit: Int = 100

    @OptionGroup var connection: ConnectionOptions
    @OptionGroup var output: OutputOptions

    func validate() throws {
        guard limit > 0 else { throw ValidationError("--limit must be more than 0, not \(limit)") }
        _ = try Self.time(since, option: "--since")
        _ = try Self.time(until, option: "--until")
    }

    static func time(_ text: String?, option: String) throws -> SQLTimestamp? {
        guard let text else { return nil }
        guard let time = SQLTimestamp(parsing: text) else {
            throw ValidationError("\(option) takes an ISO 8601 time such as 2026-01-31T12:00:00Z, not '\(text)'")
        }
        return time
    }

    func run() async throws {
        try await guarded(json: output.json) {
            let db = try connection.database(maxConnections: 1)
            let entries: [AuditEntry]
            do {
                entries = try await AuditLog.query(db, subjectType: subjectType, subjectID: subject,
                                                   since: try Self.time(since, option: "--since"),
                                                   until: try Self.time(until, option: "--until"), limit: limit)
            } catch {
                await db.close()
                throw error
            }
            await db.close()
            if output.json {
                printJSON(["command": "audit", "entries": entries.map { e in [
                    "id": e.id, "occurred_at": e.occurredAt.iso8601, "actor": e.actor, "action": e.action,
                    "subject_type": e.subjectType, "subject_id": e.subjectID,
                    "request_id": e.requestID.map { $0 as Any } ?? NSNull(),
                    "details": (try? JSONSerialization.jsonObject(with: Data(e.details.utf8))) ?? e.details,
                ] as [String: Any] }])
                return
            }
            if entries.isEmpty {
                print("no audit rows")
                return
            }
            for e in entries {
                let request = e.requestID.map { "  request \($0)" } ?? ""
                print("\(e.occurredAt.iso8601)  \(e.action)  \(e.subjectType) \(e.subjectID)  by \(e.actor)\(request)  \(e.details)")
            }
        }
    }
}
