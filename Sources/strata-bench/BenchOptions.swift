/// `--name value` options and bare `--flag`s from the command line, with no dependency.
///
/// An option may be given more than once: ``string(_:)`` reads the last value, as a
/// command line usually means, and ``strings(_:)`` every value in order, for an option
/// that collects them (`--url A --url B`).
struct BenchOptions {
    private var values: [String: [String]] = [:]
    private var setFlags: Set<String> = []

    /// - Parameters:
    ///   - known: every option and flag name the command accepts, without `--`.
    ///   - flags: the names among `known` that take no value.
    /// - Throws: ``BenchUsageError`` for an unknown name, or an option without its value.
    init(_ arguments: [String], known: Set<String>, flags: Set<String> = []) throws(BenchUsageError) {
        var i = 0
        while i < arguments.count {
            var name = arguments[i]
            guard name.hasPrefix("--") else { throw BenchUsageError("unexpected argument '\(name)'") }
            name.removeFirst(2)
            var inlineValue: String?
            if let eq = name.firstIndex(of: "=") {
                inlineValue = String(name[name.index(after: eq)...])
                name = String(name[..<eq])
            }
            guard known.contains(name) else { throw BenchUsageError("unknown option --\(name)") }
            if flags.contains(name) {
                guard inlineValue == nil else { throw BenchUsageError("--\(name) takes no value") }
                setFlags.insert(name)
            } else if let inlineValue {
                values[name, default: []].append(inlineValue)
            } else {
                guard i + 1 < arguments.count else { throw BenchUsageError("--\(name) needs a value") }
                i += 1
                values[name, default: []].append(arguments[i])
            }
            i += 1
        }
    }

    /// The option's last value, or `nil` when it was not given.
    func string(_ name: String) -> String? { values[name]?.last }

    /// Every value of the option, in command-line order; empty when it was not given.
    func strings(_ name: String) -> [String] { values[name] ?? [] }

    func isSet(_ flag: String) -> Bool { setFlags.contains(flag) }

    /// A positive (or, with `allowZero`, non-negative) integer option, or `defaultValue`.
    func positiveInt(_ name: String, default defaultValue: Int, allowZero: Bool = false) throws(BenchUsageError) -> Int {
        guard let text = string(name) else { return defaultValue }
        guard let n = Int(text), n > 0 || (allowZero && n == 0) else {
            throw BenchUsageError("--\(name) must be a \(allowZero ? "non-negative" : "positive") integer, not '\(text)'")
        }
        return n
    }
}

/// A command line that does not make sense, with the one line that says why.
struct BenchUsageError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
