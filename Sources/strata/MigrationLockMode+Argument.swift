import ArgumentParser
import StrataMigrations

/// `--lock auto|session|table|none`, read straight from the command line.
///
/// The conformance lives here because StrataMigrations does not import ArgumentParser.
extension MigrationLockMode: ExpressibleByArgument {}
