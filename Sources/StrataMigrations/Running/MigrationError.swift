import StrataSQL

/// Why a migration command did not do what it was asked.
///
/// Each case's `description` is one line that names the file (and line) where there is one.
public enum MigrationError: Error, Sendable, CustomStringConvertible {
    /// Another run held the lock for longer than the timeout.
    case lockTimeout(String)
    /// An applied migration's file changed, vanished, or no longer matches the statements
    /// already applied.
    case drift(String)
    /// A statement failed.
    case statementFailed(file: String, line: Int, statement: Int, of: Int, error: DatabaseError, outcome: String)
    /// The request cannot be carried out as asked (irreversible, unknown target, out of order…).
    case refused(String)
    /// `verify` or `parity` found differences.
    case schemaMismatch(String)
    /// The run was stopped (a signal, a cancelled task) between or during statements;
    /// the history says where, and the next run resumes there.
    case interrupted(String)
    /// The run's table lock was taken over by another run (its lease had expired) or
    /// removed: the run stopped, and the history refused its later writes.
    case lockLost(String)
    /// A statement that commits by itself was running when an earlier run died: it may or
    /// may not have completed, and a person has to say which.
    case uncertain(String)

    public var description: String {
        switch self {
        case .lockTimeout(let m): "lock timeout: \(m)"
        case .drift(let m): m
        case .statementFailed(let file, let line, let statement, let of, let error, let outcome):
            "\(file):\(line): statement \(statement) of \(of) failed: \(error) — \(outcome)"
        case .refused(let m): m
        case .schemaMismatch(let m): m
        case .interrupted(let m): "interrupted: \(m)"
        case .uncertain(let m): m
        case .lockLost(let m): m
        }
    }
}
