import ArgumentParser
import Foundation
import StrataBilling
import StrataDrivers
import StrataSQL

/// `strata wallet`: customers' credit wallets and their ledger.
struct Wallet: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "wallet",
        abstract: "Customers' credit wallets: balance, grants, purchases, agent-run charges, refunds, history.",
        discussion: """
            CUSTOMER is the customer's external id; a wallet appears at balance 0 on
            its first grant, purchase or charge. Every change writes one ledger row
            and one audit row.

            Changes take --idempotency-key K: the same command with the same key runs
            once and later prints the first result; another command under the key is
            refused. A charge beyond the balance changes nothing and exits with 7.
            """,
        subcommands: [WalletShow.self, WalletGrant.self, WalletPurchase.self, WalletCharge.self,
                      WalletRefund.self, WalletHistory.self, WalletVerify.self])
}

/// Who makes a change and under which keys: shared by every command that moves credits.
///
/// The actor and request id are the billing commands' own; only the idempotency key is the wallet's.
struct WalletChangeOptions: ParsableArguments {
    @Option(help: ArgumentHelp("Run this change once, whatever the retries; later runs print the first result.",
                               valueName: "key"))
    var idempotencyKey: String?

    @OptionGroup var billing: BillingChangeOptions

    var context: BillingContext { billing.context() }
}

/// Runs a wallet command with a service over a short-lived pool, closing it on every path
/// and giving wallet errors their exit codes.
func withWalletService(_ connection: ConnectionOptions, _ body: (WalletService) async throws -> Void) async throws {
    let db = try connection.database(maxConnections: 2)
    do {
        try await body(WalletService(database: db, logger: connection.logger()))
    } catch {
        await db.close()
        throw WalletCLI.exitError(for: error)
    }
    await db.close()
}

/// How the wallet commands report.
/// Runs one wallet change and prints its receipt, as a line or as JSON.
func runWalletChange(_ command: String, _ connection: ConnectionOptions, _ output: OutputOptions,
                     _ change: (WalletService) async throws -> WalletReceipt) async throws {
    try await guarded(json: output.json) {
        try await withWalletService(connection) { wallets in
            let receipt = try await change(wallets)
            output.json ? printJSON(WalletCLI.json(receipt, command: command)) : print(WalletCLI.line(receipt))
        }
    }
}

enum WalletCLI {
    /// Wallet refusals with their documented exit codes; other errors as they are.
    static func exitError(for error: any Error) -> any Error {
        switch error {
        case WalletError.insufficientCredits:
            CLIError(description: "\(error)", exitCode: StrataExit.insufficientCredits, code: "insufficient_credits")
        case WalletError.invalidRequest, IdempotencyError.invalidKey:
            CLIError.usage("\(error)")
        default:
            error
        }
    }

    /// A ledger row as a JSON object (the keys of ``WalletTransaction``'s coding).
    static func json(_ transaction: WalletTransaction) -> Any {
        let encoder = JSONEncoder()
        guard let data = try? encoder.encode(transaction),
              let object = try? JSONSerialization.jsonObject(with: data) else { return [String: Any]() }
        return object
    }

    static func json(_ receipt: WalletReceipt, command: String) -> [String: Any] {
        ["command": command, "ok": true, "replay": receipt.isReplay, "transaction": json(receipt.transaction),
         "balance_after": receipt.transaction.balanceAfter]
    }

    /// One line about a change: what moved, the row, the balance.
    static func line(_ receipt: WalletReceipt) -> String {
        let t = receipt.transaction
        let what: String
        switch t.kind {
        case .grant: what = "granted \(t.amount) credits to \(t.customer)"
        case .purchase: what = "credited \(t.amount) credits to \(t.customer) for payment \(t.externalReference ?? "?")"
        case .charge: what = "charged \(-t.amount) credits to \(t.customer) for \(t.agentKey ?? "?") run \(t.runID ?? "?")"
        case .refund: what = "refunded \(t.amount) credits to \(t.customer) for transaction \(t.refundedTransactionID ?? 0)"
        case .adjustment: what = "adjusted \(t.customer) by \(t.amount) credits"
        }
        let replay = receipt.isReplay ? " (already done: nothing changed)" : ""
        return "\(what): transaction \(t.id), sequence \(t.sequence), balance after \(t.balanceAfter)\(replay)"
    }
}

struct WalletShow: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "show", abstract: "Show a customer's balance.")

    @Argument(help: ArgumentHelp("The customer's external id.", valueName: "customer"))
    var customer: String

    @OptionGroup var connection: ConnectionOptions
    @OptionGroup var output: OutputOptions

    func run() async throws {
        try await guarded(json: output.json) {
            try await withWalletService(connection) { wallets in
                let wallet = try await wallets.wallet(customer: customer)
                if output.json {
                    printJSON(["command": "wallet show", "customer": customer, "exists": wallet != nil,
                               "wallet_id": wallet.map { $0.id as Any } ?? NSNull(), "balance": wallet?.balance ?? 0,
                               "version": wallet?.version ?? 0, "last_sequence": wallet?.lastSequence ?? 0])
                } else if let wallet {
                    print("\(customer): balance \(wallet.balance) credits (wallet \(wallet.id), \(wallet.lastSequence) transactions, updated \(wallet.updatedAt.iso8601))")
                } else {
                    print("\(customer): no wallet yet, balance 0 credits")
                }
            }
        }
    }
}

struct WalletGrant: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "grant", abstract: "Add credits to a customer's wallet.")

    @Argument(help: ArgumentHelp("The customer's external id.", valueName: "customer"))
    var customer: String

    @Argument(help: ArgumentHelp("Credits to add (more than 0).", valueName: "credits"))
    var credits: Int64

    @Option(help: ArgumentHelp("Why: kept on the ledger row and in the audit log.", valueName: "text"))
    var reason: String

    @OptionGroup var change: WalletChangeOptions
    @OptionGroup var connection: ConnectionOptions
    @OptionGroup var output: OutputOptions

    func validate() throws {
        guard credits > 0 else { throw ValidationError("CREDITS must be more than 0, not \(credits)") }
    }

    func run() async throws {
        try await runWalletChange("wallet grant", connection, output) { wallets in
            try await wallets.grant(customer: customer, credits: credits, reason: reason,
                context: change.context, idempotencyKey: change.idempotencyKey)
        }
    }
}

struct WalletPurchase: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "purchase", abstract: "Credit a paid credit package to a customer's wallet.",
        discussion: "A payment reference credits a wallet once; running it again prints the first purchase.")

    @Argument(help: ArgumentHelp("The customer's external id.", valueName: "customer"))
    var customer: String

    @Argument(help: ArgumentHelp("The credit package (package_id).", valueName: "package"))
    var packageID: String

    @Option(help: ArgumentHelp("The provider's payment id.", valueName: "ref"))
    var paymentReference: String

    @OptionGroup var change: WalletChangeOptions
    @OptionGroup var connection: ConnectionOptions
    @OptionGroup var output: OutputOptions

    func run() async throws {
        try await runWalletChange("wallet purchase", connection, output) { wallets in
            try await wallets.purchase(customer: customer, packageID: packageID,
                paymentReference: paymentReference, context: change.context,
                idempotencyKey: change.idempotencyKey)
        }
    }
}

struct WalletCharge: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "charge", abstract: "Charge one agent run at the agent's current cost.",
        discussion: """
            A run id is charged once per wallet: charging it again prints the first
            charge. Exits with code 7, changing nothing, when the balance does not
            cover the cost.
            """)

    @Argument(help: ArgumentHelp("The customer's external id.", valueName: "customer"))
    var customer: String

    @Argument(help: ArgumentHelp("The agent (see `strata agents list`).", valueName: "agent-key"))
    var agentKey: String

    @Option(help: ArgumentHelp("The agent run being paid for.", valueName: "id"))
    var runID: String

    @OptionGroup var change: WalletChangeOptions
    @OptionGroup var connection: ConnectionOptions
    @OptionGroup var output: OutputOptions

    func run() async throws {
        try await runWalletChange("wallet charge", connection, output) { wallets in
            try await wallets.charge(customer: customer, agentKey: agentKey, runID: runID,
                context: change.context, idempotencyKey: change.idempotencyKey)
        }
    }
}

struct WalletRefund: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "refund", abstract: "Give a charge's credits back, once.")

    @Argument(help: ArgumentHelp("The charge's transaction id (see `strata wallet history`).", valueName: "transaction-id"))
    var transactionID: Int64

    @Option(help: ArgumentHelp("Why: kept on the ledger row and in the audit log.", valueName: "text"))
    var reason: String?

    @OptionGroup var change: WalletChangeOptions
    @OptionGroup var connection: ConnectionOptions
    @OptionGroup var output: OutputOptions

    func validate() throws {
        guard transactionID > 0 else { throw ValidationError("TRANSACTION-ID must be more than 0, not \(transactionID)") }
    }

    func run() async throws {
        try await runWalletChange("wallet refund", connection, output) { wallets in
            try await wallets.refund(transactionID: transactionID, reason: reason,
                context: change.context, idempotencyKey: change.idempotencyKey)
        }
    }
}

struct WalletHistory: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "history", abstract: "List a customer's ledger, newest first.")

    @Argument(help: ArgumentHelp("The customer's external id.", valueName: "customer"))
    var customer: String

    @Option(help: ArgumentHelp("The most rows to list.", valueName: "n"))
    var limit: Int = 50

    @Option(help: ArgumentHelp("Only rows before this sequence (the next page).", valueName: "sequence"))
    var before: Int64?

    @OptionGroup var connection: ConnectionOptions
    @OptionGroup var output: OutputOptions

    func validate() throws {
        guard limit > 0 else { throw ValidationError("--limit must be more than 0, not \(limit)") }
    }

    func run() async throws {
        try await guarded(json: output.json) {
            try await withWalletService(connection) { wallets in
                let rows = try await wallets.history(customer: customer, limit: limit, beforeSequence: before)
                if output.json {
                    printJSON(["command": "wallet history", "customer": customer, "transactions": rows.map(WalletCLI.json),
                               "next_before": rows.count == limit && (rows.last?.sequence ?? 0) > 1
                                   ? rows.last!.sequence as Any : NSNull()])
                    return
                }
                if rows.isEmpty {
                    print("\(customer): no transactions")
                    return
                }
                print("SEQ     ID        KIND      AMOUNT    BALANCE   DETAIL")
                for t in rows {
                    let detail: String
                    switch t.kind {
                    case .charge: detail = "\(t.agentKey ?? "") run \(t.runID ?? "")"
                    case .refund: detail = "of \(t.refundedTransactionID ?? 0)\(t.reason.map { ": \($0)" } ?? "")"
                    case .purchase: detail = t.externalReference ?? ""
                    default: detail = t.reason ?? ""
                    }
                    print([pad(t.sequence, 7), pad(t.id, 9), pad(t.kind.rawValue, 9), pad(t.amount, 9),
                           pad(t.balanceAfter, 9), "\(detail)  \(t.createdAt.iso8601) by \(t.actor)"].joined(separator: " "))
                }
            }
        }
    }

    private func pad(_ value: Any, _ width: Int) -> String {
        "\(value)".padding(toLength: max(width, "\(value)".count), withPad: " ", startingAt: 0)
    }
}

struct WalletVerify: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify", abstract: "Check that ledgers add up to their balances with no gaps.",
        discussion: """
            Checks one customer's wallet, or every wallet: rows numbered 1...n with no
            gap, each balance_after the running sum, the sum equal to the balance.
            Exits with 1 when any ledger is inconsistent.
            """)

    @Argument(help: ArgumentHelp("The customer's external id (default: every wallet).", valueName: "customer"))
    var customer: String?

    @OptionGroup var connection: ConnectionOptions
    @OptionGroup var output: OutputOptions

    func run() async throws {
        try await guarded(json: output.json) {
            var consistent = true
            try await withWalletService(connection) { wallets in
                let reports = if let customer { [try await wallets.verifyLedger(customer: customer)] }
                              else { try await wallets.verifyAll() }
                consistent = reports.allSatisfy(\.isConsistent)
                if output.json {
                    printJSON(["command": "wallet verify", "ok": consistent, "wallets": reports.map { r in [
                        "wallet_id": r.walletID, "customer": r.customer, "balance": r.balance, "ledger_sum": r.ledgerSum,
                        "last_sequence": r.lastSequence, "entries": r.entries, "consistent": r.isConsistent,
                        "problems": r.problems,
                    ] as [String: Any] }])
                    return
                }
                for r in reports {
                    if r.isConsistent {
                        print("\(r.customer): ok, \(r.entries) transactions, balance \(r.balance)")
                    } else {
                        print("\(r.customer): INCONSISTENT, balance \(r.balance), ledger sum \(r.ledgerSum)")
                        for p in r.problems { print("  \(p)") }
                    }
                }
                if reports.isEmpty { print("no wallets") }
            }
            if !consistent { throw ExitCode(StrataExit.failure) }
        }
    }
}
