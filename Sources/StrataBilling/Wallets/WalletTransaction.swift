import Foundation
import StrataSQL

/// One row of a wallet's ledger (`credit_transactions`), as the services return it.
///
/// Rows are append-only and numbered per wallet from 1 with no gaps. `amount` is
/// signed; `balanceAfter` is the wallet's balance once the row applied. A charge carries
/// the agent and the cost it had at that moment, so later price changes never rewrite
/// history.
///
/// The value is `Codable` with snake-case keys and the time in ISO 8601: that JSON is
/// what an idempotency key stores as its response and what `strata wallet … --json`
/// prints.
///
/// ```swift
/// let charge = try await wallets.charge(customer: "acme", agentKey: "code_reviewer", runID: "run-42",
///                                       context: ctx).transaction
/// charge.amount        // -40
/// charge.costPerRun    // 40
/// ```
public struct WalletTransaction: Sendable, Hashable, Codable {
    public var id: Int64
    public var walletID: Int64
    /// The external id of the customer who owns the wallet.
    public var customer: String
    /// 1, 2, 3 … within the wallet.
    public var sequence: Int64
    public var kind: WalletTransactionKind
    /// Signed credits: positive in, negative out.
    public var amount: Int64
    public var balanceAfter: Int64
    /// The agent of a charge (and of the refund of one).
    public var agentKey: String?
    /// The agent's `credits_per_run` when the charge was made.
    public var costPerRun: Int64?
    /// The agent run a charge pays for (also on its refund).
    public var runID: String?
    public var idempotencyKey: String?
    /// The payment reference of a purchase.
    public var externalReference: String?
    /// The charge a refund gives back.
    public var refundedTransactionID: Int64?
    public var actor: String
    public var reason: String?
    public var createdAt: SQLTimestamp

    public init(id: Int64, walletID: Int64, customer: String, sequence: Int64, kind: WalletTransactionKind,
                amount: Int64, balanceAfter: Int64, agentKey: String? = nil, costPerRun: Int64? = nil,
                runID: String? = nil, idempotencyKey: String? = nil, externalReference: String? = nil,
                refundedTransactionID: Int64? = nil, actor: String, reason: String? = nil, createdAt: SQLTimestamp) {
        self.id = id
        self.walletID = walletID
        self.customer = customer
        self.sequence = sequence
        self.kind = kind
        self.amount = amount
        self.balanceAfter = balanceAfter
        self.agentKey = agentKey
        self.costPerRun = costPerRun
        self.runID = runID
        self.idempotencyKey = idempotencyKey
        self.externalReference = externalReference
        self.refundedTransactionID = refundedTransactionID
        self.actor = actor
        self.reason = reason
        self.createdAt = createdAt
    }

    enum CodingKeys: String, CodingKey {
        case id, customer, sequence, kind, amount, actor, reason
        case walletID = "wallet_id"
        case balanceAfter = "balance_after"
        case agentKey = "agent_key"
        case costPerRun = "cost_per_run"
        case runID = "run_id"
        case idempotencyKey = "idempotency_key"
        case externalReference = "external_reference"
        case refundedTransactionID = "refunded_transaction_id"
        case createdAt = "created_at"
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        id = try c.decode(Int64.self, forKey: .id)
        walletID = try c.decode(Int64.self, forKey: .walletID)
        customer = try c.decode(String.self, forKey: .customer)
        sequence = try c.decode(Int64.self, forKey: .sequence)
        kind = try c.decode(WalletTransactionKind.self, forKey: .kind)
        amount = try c.decode(Int64.self, forKey: .amount)
        balanceAfter = try c.decode(Int64.self, forKey: .balanceAfter)
        agentKey = try c.decodeIfPresent(String.self, forKey: .agentKey)
        costPerRun = try c.decodeIfPresent(Int64.self, forKey: .costPerRun)
        runID = try c.decodeIfPresent(String.self, forKey: .runID)
        idempotencyKey = try c.decodeIfPresent(String.self, forKey: .idempotencyKey)
        externalReference = try c.decodeIfPresent(String.self, forKey: .externalReference)
        refundedTransactionID = try c.decodeIfPresent(Int64.self, forKey: .refundedTransactionID)
        actor = try c.decode(String.self, forKey: .actor)
        reason = try c.decodeIfPresent(String.self, forKey: .reason)
        let text = try c.decode(String.self, forKey: .createdAt)
        guard let time = SQLTimestamp(parsing: text) else {
            throw DecodingError.dataCorruptedError(forKey: .createdAt, in: c, debugDescription: "not a timestamp: \(text)")
        }
        createdAt = time
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(id, forKey: .id)
        try c.encode(walletID, forKey: .walletID)
        try c.encode(customer, forKey: .customer)
        try c.encode(sequence, forKey: .sequence)
        try c.encode(kind, forKey: .kind)
        try c.encode(amount, forKey: .amount)
        try c.encode(balanceAfter, forKey: .balanceAfter)
        try c.encodeIfPresent(agentKey, forKey: .agentKey)
        try c.encodeIfPresent(costPerRun, forKey: .costPerRun)
        try c.encodeIfPresent(runID, forKey: .runID)
        try c.encodeIfPresent(idempotencyKey, forKey: .idempotencyKey)
        try c.encodeIfPresent(externalReference, forKey: .externalReference)
        try c.encodeIfPresent(refundedTransactionID, forKey: .refundedTransactionID)
        try c.encode(actor, forKey: .actor)
        try c.encodeIfPresent(reason, forKey: .reason)
        try c.encode(createdAt.iso8601, forKey: .createdAt)
    }
}
