/// What a ledger row does to a wallet, as stored in `credit_transactions.kind`.
///
/// Credits come in through ``grant``, ``purchase`` and ``refund`` (positive amounts) and
/// go out through ``charge`` (negative); an ``adjustment`` may go either way. The
/// database's `CHECK` constraints hold every row to these signs.
///
/// ```swift
/// WalletTransactionKind(rawValue: "charge")   // .charge
/// ```
public enum WalletTransactionKind: String, Sendable, Hashable, Codable, CaseIterable, CustomStringConvertible {
    case grant
    case purchase
    case charge
    case refund
    case adjustment

    public var description: String { rawValue }
}
