import ArgumentParser
import Foundation
import StrataBilling
import StrataMigrations
import StrataSeeds
import StrataSQL

/// What the CLI says about an error that ended a command: one line, a stable machine
/// code and the exit code.
///
/// The line goes to stderr as `strata: error: …`; with `--json`, stdout also gets one
/// JSON document, so a pipeline that reads stdout learns of the failure too.
///
/// ```swift
/// ErrorReport(error).print(json: true)
/// // stderr: strata: error: lock timeout: …
/// // stdout: {"code":"lock_timeout","error":"lock timeout: …","exit":4,"ok":false}
/// ```
struct ErrorReport {
    /// The error's description on one line.
    var message: String
    /// A stable name for the kind of failure, for scripts: `usage`, `connection`, `auth`, …
    var code: String
    var exit: Int32

    init(message: String, code: String, exit: Int32) {
        self.message = message.split(whereSeparator: \.isNewline).joined(separator: " ")
        self.code = code
        self.exit = exit
    }

    init(_ error: any Error) {
        self.init(message: "\(error)", code: Self.code(for: error), exit: StrataExit.code(for: error))
    }

    /// The report of an argument error: its message on one line, with the command's
    /// `--help` to turn to.
    init(usage error: any Error, arguments: [String]) {
        let parsed = Self.negativeNumberMessage(arguments) ?? Strata.message(for: error)
        let message = MigrationVersion.usageMessage(rewriting: parsed) ?? parsed
        // The library adds lines of usage and help: `--help` has them, the pointer says so.
        let lines = message.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }
            .filter { !$0.isEmpty && !$0.hasPrefix("Help:") && !$0.hasPrefix("Usage:") }
        let command = (["strata"] + Self.commandPath(arguments)).joined(separator: " ")
        self.init(message: "\(lines.joined(separator: "; ")) (see '\(command) --help')", code: "usage",
                  exit: Strata.exitCode(for: error).rawValue)
    }

    /// The subcommand names among the arguments, from the root down.
    static func commandPath(_ arguments: [String]) -> [String] {
        var command: any ParsableCommand.Type = Strata.self
        var path: [String] = []
        for argument in arguments {
            guard let sub = command.configuration.subcommands.first(where: { $0._commandName == argument }) else { continue }
            command = sub
            path.append(argument)
        }
        return path
    }

    /// What is wrong with a negative number that the parser took for an option (`-5`,
    /// which made it report a missing value or argument instead).
    ///
    /// The arguments are parsed again with the number as a value (`--option=-5`, or after
    /// `--` for an argument), only to learn the message: the command's own validation then
    /// says what the number must be. Nothing runs from this parse.
    static func negativeNumberMessage(_ arguments: [String]) -> String? {
        func isNegativeNumber(_ s: String) -> Bool {
            s.count > 1 && s.hasPrefix("-") && s.dropFirst().allSatisfy { $0.isASCII && ($0.isNumber || $0 == ".") }
        }
        guard !arguments.contains("--"), let number = arguments.first(where: isNegativeNumber) else { return nil }
        var retry: [String] = []
        var positional: [String] = []
        for argument in arguments {
            if isNegativeNumber(argument) {
                if let option = retry.last, option.hasPrefix("--"), !option.contains("=") {
                    retry[retry.count - 1] = "\(option)=\(argument)"
                } else {
                    positional.append(argument)
                }
            } else {
                retry.append(argument)
            }
        }
        if !positional.isEmpty { retry += ["--"] + positional }
        do {
            _ = try Strata.parseAsRoot(retry)
            return "'\(number)' reads as an option: write a negative value as --option=\(number), or after '--'"
        } catch {
            return Strata.message(for: error)
        }
    }

    /// The JSON error document: `ok` false, `error`, `code`, `exit`.
    var document: [String: Any] {
        ["ok": false, "error": message, "code": code, "exit": Int(exit)]
    }

    /// Writes the line to stderr and, with `json`, the document to stdout.
    func print(json: Bool) {
        if json {
            printJSON(document)
        }
        FileHandle.standardError.write(Data("strata: error: \(message)\n".utf8))
    }

    /// The machine code of an error; matched case by case, so a new case falls back to a
    /// general code rather than failing to build.
    static func code(for error: any Error) -> String {
        switch error {
        case let e as CLIError:
            return e.code ?? (e.exitCode == StrataExit.usage ? "usage" : "failure")
        case MigrationError.lockTimeout: return "lock_timeout"
        case MigrationError.drift: return "drift"
        case MigrationError.schemaMismatch: return "schema_mismatch"
        case MigrationError.statementFailed: return "statement_failed"
        case MigrationError.refused: return "refused"
        case MigrationError.interrupted: return "interrupted"
        case MigrationError.uncertain: return "uncertain"
        case MigrationError.lockLost: return "lock_lost"
        case is MigrationError: return "migration"
        case is MigrationLoadError: return "migration_files"
        case let e as DatabaseError:
            switch e.category {
            case .invalidURL, .invalidIdentifier: return "usage"
            case .authentication: return "auth"
            case .connectionRefused, .connectionLost, .timeout, .poolClosed: return "connection"
            case .unknownDatabase: return "unknown_database"
            case .lockTimeout: return "lock_timeout"
            case .canceled: return "canceled"
            default: return "database"
            }
        case is WalletError, is IdempotencyError, is InvoiceError, is SubscriptionError, is GracePeriodError, is WebhookError:
            return "refused"
        case is SeedError: return "seed"
        default: return "failure"
        }
    }
}
