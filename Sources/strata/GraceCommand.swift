import ArgumentParser
import Foundation
import StrataBilling
import StrataDrivers
import StrataSQL

/// `strata grace`: grace periods after failed payments.
struct Grace: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "grace",
        abstract: "Grace periods after failed payments: status, payment failed or succeeded, the daily sweep.",
        discussion: """
            A failed payment opens one grace period on the customer's current subscription \
            (7 days unless --days says otherwise) and makes it past_due; a second failure while \
            one is open opens nothing. A successful payment resolves it and makes the \
            subscription active again, also after the sweep restricted it. Access is decided \
            when asked: full, grace (with the days left) or restricted once the period ended, \
            whether or not the sweep already ran. `sweep` expires ended periods and restricts \
            their subscriptions; it is safe to run twice or on several machines at once.
            """,
        subcommands: [GraceSweep.self, GraceStatusCommand.self, GracePaymentFailed.self, GracePaymentSucceeded.self])
}

/// Who makes a billing change and under which request: shared by the grace, plans and webhooks commands.
struct BillingChangeOptions: ParsableArguments {
    @Option(help: ArgumentHelp("Who makes the change, for the audit log and any ledger entry (default: cli:$USER).",
                               valueName: "name"))
    var actor: String?

    @Option(help: ArgumentHelp("A request id to record in the audit log.", valueName: "id"))
    var requestID: String?

    func context(defaultActor: String? = nil) -> BillingContext {
        let env = ProcessInfo.processInfo.environment
        let user = "cli:\(env["USER"] ?? env["LOGNAME"] ?? "unknown")"
        return BillingContext(actor: actor ?? defaultActor ?? user, requestID: requestID)
    }
}

/// Runs a body over a short-lived pool, closing it on every path.
///
/// The body runs on the pool's executor: its statements run in place on the connection
/// threads (a webhook worker's loop is almost all statements).
func withBillingDatabase(_ connection: ConnectionOptions, maxConnections: Int = 2,
                         _ body: (Database) async throws -> Void) async throws {
    let db = try connection.database(maxConnections: maxConnections)
    do {
        try await withTaskExecutorPreference(db.executor) { try await body(db) }
    } catch {
        await db.close()
        throw error
    }
    await db.close()
}

struct GraceSweep: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sweep",
        abstract: "Expire every open grace period that ended and restrict its subscription (the daily job).")
    @OptionGroup var connection: ConnectionOptions
    @OptionGroup var change: BillingChangeOptions
    @OptionGroup var output: OutputOptions

    func run() async throws {
        try await guarded(json: output.json) {
            try await withBillingDatabase(connection) { db in
                let grace = GracePeriodService(database: db, clock: SystemClock(), logger: connection.logger())
                let report = try await grace.sweep(context: change.context(defaultActor: "system:grace-sweep"))
                if output.json {
                    printJSON(["command": "grace sweep", "ok": true, "expired": report.count, "skipped": report.skipped,
                               "periods": report.expired.map(\.cliJSON)])
                } else {
                    for p in report.expired {
                        print("expired grace period \(p.id) of subscription \(p.subscriptionID) (ended \(p.endsAt.iso8601))")
                    }
                    print("expired \(report.count)\(report.skipped > 0 ? ", \(report.skipped) handled elsewhere" : "")")
                }
            }
        }
    }
}

struct GraceStatusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status", abstract: "Show a customer's access now, their subscription and open grace period.")
    @Argument(help: "The customer's external id.") var customer: String
    @OptionGroup var connection: ConnectionOptions
    @OptionGroup var output: OutputOptions

    func run() async throws {
        try await guarded(json: output.json) {
            try await withBillingDatabase(connection, maxConnections: 1) { db in
                let grace = GracePeriodService(database: db, clock: SystemClock(), logger: connection.logger())
                let status = try await grace.status(for: customer)
                if output.json {
                    var object: [String: Any] = ["command": "grace status", "customer": customer,
                                                 "checked_at": status.checkedAt.iso8601,
                                                 "subscription": status.subscription.cliJSON,
                                                 "grace_period": status.openPeriod?.cliJSON ?? NSNull()]
                    object.merge(status.access.cliJSON) { a, _ in a }
                    printJSON(object)
                } else {
                    print("customer \(customer): subscription \(status.subscription.id) \(status.subscription.state.rawValue)")
                    switch status.access {
                    case .full: print("access: full")
                    case .grace(let days, let endsAt): print("access: grace, \(days) day\(days == 1 ? "" : "s") left (ends \(endsAt.iso8601))")
                    case .restricted: print("access: restricted")
                    }
                    if let p = status.openPeriod {
                        print("open grace period \(p.id): \(p.reason), started \(p.startedAt.iso8601), ends \(p.endsAt.iso8601)")
                    }
                }
            }
        }
    }
}

struct GracePaymentFailed: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "payment-failed",
        abstract: "Record a failed payment: opens a grace period unless one is open already.")
    @Argument(help: "The customer's external id.") var customer: String
    @Option(help: ArgumentHelp("Why the payment failed.", valueName: "text")) var reason = "payment_failed"
    @Option(help: ArgumentHelp("Length of a new grace period in days.", valueName: "n")) var days = 7
    @OptionGroup var connection: ConnectionOptions
    @OptionGroup var change: BillingChangeOptions
    @OptionGroup var output: OutputOptions

    func validate() throws {
        guard days >= 0 else { throw ValidationError("--days must be 0 or more, not \(days)") }
        guard !reason.isEmpty, reason.count <= 191 else { throw ValidationError("--reason must have 1 to 191 characters") }
    }

    func run() async throws {
        try await guarded(json: output.json) {
            try await withBillingDatabase(connection) { db in
                let grace = GracePeriodService(database: db, clock: SystemClock(), logger: connection.logger(),
                                               duration: .seconds(days * 86_400))
                let period = try await grace.paymentFailed(customer: customer, reason: reason, context: change.context())
                if output.json {
                    printJSON(["command": "grace payment-failed", "ok": true, "customer": customer, "grace_period": period.cliJSON])
                } else {
                    print("grace period \(period.id) \(period.state.rawValue): started \(period.startedAt.iso8601), ends \(period.endsAt.iso8601)")
                }
            }
        }
    }
}

struct GracePaymentSucceeded: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "payment-succeeded",
        abstract: "Record a successful payment: resolves the open grace period, makes the subscription active.")
    @Argument(help: "The customer's external id.") var customer: String
    @OptionGroup var connection: ConnectionOptions
    @OptionGroup var change: BillingChangeOptions
    @OptionGroup var output: OutputOptions

    func run() async throws {
        try await guarded(json: output.json) {
            try await withBillingDatabase(connection) { db in
                let grace = GracePeriodService(database: db, clock: SystemClock(), logger: connection.logger())
                let resolved = try await grace.paymentSucceeded(customer: customer, context: change.context())
                let access = try await grace.access(for: customer)
                if output.json {
                    var object: [String: Any] = ["command": "grace payment-succeeded", "ok": true, "customer": customer,
                                                 "resolved": resolved?.cliJSON ?? NSNull()]
                    object.merge(access.cliJSON) { a, _ in a }
                    printJSON(object)
                } else {
                    if let resolved {
                        print("resolved grace period \(resolved.id)")
                    } else {
                        print("no grace period was open")
                    }
                    print("access: \(access.name)")
                }
            }
        }
    }
}

extension GracePeriod {
    /// The period as the CLI prints it with `--json`.
    var cliJSON: [String: Any] {
        ["id": id, "customer_id": customerID, "subscription_id": subscriptionID, "reason": reason,
         "state": state.rawValue, "started_at": startedAt.iso8601, "ends_at": endsAt.iso8601,
         "resolved_at": resolvedAt?.iso8601 ?? NSNull(), "expired_at": expiredAt?.iso8601 ?? NSNull()]
    }
}

extension BillingAccess {
    /// `access`, and for a grace period `days_left` and `ends_at`.
    var cliJSON: [String: Any] {
        switch self {
        case .grace(let days, let endsAt): ["access": name, "days_left": days, "ends_at": endsAt.iso8601]
        case .full, .restricted: ["access": name]
        }
    }
}
