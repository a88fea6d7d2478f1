import StrataBilling

/// `POST /billing/charges`: the receipt, the balance right after the charge, and
/// whether this answer replays an earlier charge of the same run (`replay: true`,
/// status 200) rather than a new one (`replay: false`, status 201).
struct ChargeBody: JSONWritable {
    var transaction: TransactionBody
    var balanceCredits: Int64
    var replay: Bool

    init(_ receipt: WalletReceipt) {
        transaction = TransactionBody(receipt.transaction)
        balanceCredits = receipt.transaction.balanceAfter
        replay = receipt.isReplay
    }

    enum CodingKeys: String, CodingKey {
        case transaction, replay
        case balanceCredits = "balance_credits"
    }

    func write(to json: inout JSONWriter) {
        json.object { json in
            json.member("balance_credits", balanceCredits)
            json.member("replay", replay)
            json.member("transaction", transaction)
        }
    }
}
