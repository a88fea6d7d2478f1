/// What a charge reads while it takes its wallet's lock: the wallet, the agent's cost
/// and the run's earlier charge (``WalletLedger/lockForCharge(_:customer:agentKey:runID:at:)``).
struct ChargeLock: Sendable {
    var wallet: LockedWallet
    /// The agent's cost per run; `nil` when the agent is unknown or inactive.
    var activeAgentCost: Int64?
    /// The wallet's charge of this run, when it was charged already.
    var earlierCharge: WalletTransaction?
}
