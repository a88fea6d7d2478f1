import StrataBilling

/// One ledger row as a customer sees it: amounts signed, time in RFC 3339 UTC.
///
/// The actor (an admin's or a worker's name) and the wallet's internal id stay out:
/// they describe Strata's operators, not the customer's money.
struct TransactionBody: JSONWritable {
    var id: Int64
    var sequence: Int64
    var kind: String
    var amount: Int64
    var balanceAfter: Int64
    var agent: String?
    var costPerRun: Int64?
    var runID: String?
    var externalReference: String?
    var refundedTransactionID: Int64?
    var reason: String?
    var createdAt: String

    init(_ t: WalletTransaction) {
        id = t.id
        sequence = t.sequence
        kind = t.kind.rawValue
        amount = t.amount
        balanceAfter = t.balanceAfter
        agent = t.agentKey
        costPerRun = t.costPerRun
        runID = t.runID
        externalReference = t.externalReference
        refundedTransactionID = t.refundedTransactionID
        reason = t.reason
        createdAt = t.createdAt.iso8601
    }

    enum CodingKeys: String, CodingKey {
        case id, sequence, kind, amount, agent, reason
        case balanceAfter = "balance_after"
        case costPerRun = "cost_per_run"
        case runID = "run_id"
        case externalReference = "external_reference"
        case refundedTransactionID = "refunded_transaction_id"
        case createdAt = "created_at"
    }

    /// The members in the encoder's sorted order.
    func write(to json: inout JSONWriter) {
        json.object { json in
            json.member("agent", agent)
            json.member("amount", amount)
            json.member("balance_after", balanceAfter)
            json.member("cost_per_run", costPerRun)
            json.member("created_at", createdAt)
            json.member("external_reference", externalReference)
            json.member("id", id)
            json.member("kind", kind)
            json.member("reason", reason)
            json.member("refunded_transaction_id", refundedTransactionID)
            json.member("run_id", runID)
            json.member("sequence", sequence)
        }
    }
}
