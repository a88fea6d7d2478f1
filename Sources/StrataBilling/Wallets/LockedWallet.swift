/// A wallet row as read under its `FOR UPDATE` lock, inside one transaction.
///
/// While the lock is held nobody else changes the row, so the next ledger row's
/// sequence and balance follow from these values.
struct LockedWallet: Sendable {
    var id: Int64
    var customerID: Int64
    /// The customer's external id.
    var customer: String
    var balance: Int64
    var version: Int64
    var lastSequence: Int64
}
