/// Why a wallet operation was refused. Nothing was written when one is thrown.
///
/// ```swift
/// do {
///     try await wallets.charge(customer: "acme", agentKey: "security_auditor", runID: "run-7", context: ctx)
/// } catch WalletError.insufficientCredits(let balance, let required) {
///     print("needs \(required), has \(balance)")
/// }
/// ```
public enum WalletError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The charge costs more than the wallet holds.
    case insufficientCredits(balance: Int64, required: Int64)
    /// No agent has this key in `agent_costs`.
    case unknownAgent(String)
    /// The agent exists but is deactivated.
    case inactiveAgent(String)
    /// No credit package has this id.
    case unknownPackage(String)
    /// The credit package exists but is deactivated.
    case inactivePackage(String)
    /// No ledger row has this id.
    case transactionNotFound(Int64)
    /// Only charges can be refunded.
    case notRefundable(transactionID: Int64, kind: WalletTransactionKind)
    /// The charge was refunded before, by the ledger row `refundID`.
    case alreadyRefunded(transactionID: Int64, refundID: Int64)
    /// The run was already charged to this wallet, for another agent.
    case runChargedForAnotherAgent(runID: String, transactionID: Int64, agentKey: String)
    /// The customer has no wallet (nothing was ever granted, bought or charged).
    case noWallet(customer: String)
    /// An argument is out of range or malformed: the message says which.
    case invalidRequest(String)
    /// The change would take the balance past the largest value it can hold (`Int64.max`).
    case balanceOverflow(balance: Int64, adding: Int64)

    public var description: String {
        switch self {
        case .insufficientCredits(let balance, let required):
            "insufficient credits: the balance is \(balance), the charge needs \(required)"
        case .unknownAgent(let key): "unknown agent '\(key)'"
        case .inactiveAgent(let key): "agent '\(key)' is inactive"
        case .unknownPackage(let id): "unknown credit package '\(id)'"
        case .inactivePackage(let id): "credit package '\(id)' is inactive"
        case .transactionNotFound(let id): "no wallet transaction \(id)"
        case .notRefundable(let id, let kind): "transaction \(id) is a \(kind), only charges can be refunded"
        case .alreadyRefunded(let id, let refundID): "transaction \(id) was already refunded by transaction \(refundID)"
        case .runChargedForAnotherAgent(let runID, let id, let agent):
            "run '\(runID)' was already charged for agent '\(agent)' (transaction \(id))"
        case .noWallet(let customer): "customer '\(customer)' has no wallet"
        case .invalidRequest(let message): message
        case .balanceOverflow(let balance, let adding):
            "the balance of \(balance) credits cannot take \(adding) more: it would pass the maximum of \(Int64.max)"
        }
    }
}
