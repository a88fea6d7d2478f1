import ArgumentParser
import StrataMigrations

/// A migration version read straight from the command line, so each command parses it once.
///
/// The conformance lives here because StrataMigrations does not import ArgumentParser.
extension MigrationVersion: ExpressibleByArgument {
    /// The line for a value that is not a version, in the words the commands used when they
    /// checked the text themselves (`--to: 'x' is not a version (1-20 digits)`), in place of
    /// the parser's "The value 'x' is invalid for '--to <version>'"; `nil` for any other message.
    static func usageMessage(rewriting message: String) -> String? {
        guard let match = message.wholeMatch(of: #/The value '(?<value>.*)' is invalid for '(?:(?<option>-\S+) )?<version>'/#)
        else { return nil }
        return (match.option.map { "\($0): " } ?? "") + "'\(match.value)' is not a version (1-20 digits)"
    }
}
