import ArgumentParser
import StrataMigrations
import StrataSQL

/// The documented exit codes, one per outcome a pipeline may act on.
enum StrataExit {
    static let failure: Int32 = 1
    static let pending: Int32 = 3
    static let lockTimeout: Int32 = 4
    static let drift: Int32 = 5
    static let schemaMismatch: Int32 = 6
    static let insufficientCredits: Int32 = 7
    /// `migrate lint` found an error-level finding that no waiver accepts.
    static let lintFailed: Int32 = 8
    /// What the command names does not exist: `invoices show` of an unknown invoice,
    /// `invoices list` of an unknown customer.
    static let notFound: Int32 = 9
    /// `reconcile` ran and found at least one discrepancy (stored, audited, printed).
    static let discrepancies: Int32 = 10
    static let usage: Int32 = 64

    /// The exit code for an error that ended a command.
    static func code(for error: Error) -> Int32 {
        switch error {
        case let e as MigrationError:
            switch e {
            case .lockTimeout: lockTimeout
            case .drift: drift
            case .schemaMismatch: schemaMismatch
            case .statementFailed, .refused, .uncertain, .interrupted: failure
            }
        case let e as DatabaseError where e.category == .invalidURL || e.category == .invalidIdentifier:
            usage
        case is MigrationLoadError:
            failure
        case let e as CLIError:
            e.exitCode
        default:
            failure
        }
    }
}

/// A problem the CLI itself reports, with its exit code.
struct CLIError: Error, CustomStringConvertible {
    var description: String
    var exitCode: Int32 = StrataExit.failure
    /// The machine code of the JSON error document, when neither `usage` nor `failure` says it.
    var code: String? = nil

    static func usage(_ message: String) -> CLIError {
        CLIError(description: message, exitCode: StrataExit.usage)
    }
}
