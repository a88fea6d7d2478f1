import StrataBilling

/// `GET /billing/admin/ledger/verify`: whether every wallet's ledger adds up, and the
/// problems of those that do not.
struct LedgerVerificationBody: Encodable {
    struct Problem: Encodable {
        var customer: String
        var problems: [String]
    }

    var consistent: Bool
    var wallets: Int
    var inconsistent: [Problem]

    init(_ reports: [LedgerReport]) {
        let bad = reports.filter { !$0.isConsistent }
        consistent = bad.isEmpty
        wallets = reports.count
        inconsistent = bad.map { Problem(customer: $0.customer, problems: $0.problems) }
    }
}
