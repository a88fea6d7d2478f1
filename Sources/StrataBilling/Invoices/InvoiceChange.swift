/// What recording an event's invoice state did to the stored invoice.
///
/// ```swift
/// switch change {
/// case .inserted, .updated: // the row now holds the event's state
/// case .unchanged:          // a replay, or a tie the stored state keeps
/// case .superseded:         // the stored state is newer: the event changed nothing
/// }
/// ```
public enum InvoiceChange: Sendable, Hashable {
    /// The invoice was new.
    case inserted(id: Int64)
    /// The event was newer than the stored state and replaced it.
    case updated(id: Int64, previousStatus: InvoiceStatus)
    /// The stored state is the event's own (a replay) or ties with it (the same time and
    /// status rank): nothing was written.
    case unchanged(id: Int64)
    /// The stored state is newer (a later time, or the same time and a further status):
    /// nothing was written.
    case superseded(id: Int64)

    /// The stored invoice's id.
    public var id: Int64 {
        switch self {
        case .inserted(let id), .updated(let id, _), .unchanged(let id), .superseded(let id): id
        }
    }

    /// Whether the event's state was written.
    public var applied: Bool {
        switch self {
        case .inserted, .updated: true
        case .unchanged, .superseded: false
        }
    }
}
