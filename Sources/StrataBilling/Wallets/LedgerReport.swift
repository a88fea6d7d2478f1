/// What ``WalletService/verifyLedger(customer:)`` found in one wallet's ledger.
///
/// A consistent ledger has rows numbered 1…n with no gap or duplicate where n is the
/// wallet's `last_sequence`, each row's `balance_after` equal to the running sum of the
/// amounts, never below zero, that sum equal to the wallet's balance, and every refund
/// giving back exactly one charge of the same wallet.
///
/// ```swift
/// let report = try await wallets.verifyLedger(customer: "acme")
/// if !report.isConsistent { report.problems.forEach { print($0) } }
/// ```
public struct LedgerReport: Sendable, Hashable {
    public var walletID: Int64
    public var customer: String
    /// The balance stored on the wallet.
    public var balance: Int64
    /// The sum of the ledger's amounts.
    public var ledgerSum: Int64
    /// The wallet's `last_sequence`.
    public var lastSequence: Int64
    /// Ledger rows read.
    public var entries: Int
    /// One line per inconsistency, empty when the ledger holds.
    public var problems: [String]

    public var isConsistent: Bool { problems.isEmpty }

    public init(walletID: Int64, customer: String, balance: Int64, ledgerSum: Int64, lastSequence: Int64,
                entries: Int, problems: [String]) {
        self.walletID = walletID
        self.customer = customer
        self.balance = balance
        self.ledgerSum = ledgerSum
        self.lastSequence = lastSequence
        self.entries = entries
        self.problems = problems
    }
}
