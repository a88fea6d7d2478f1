import ArgumentParser

/// `strata plans`: being built.
struct Plans: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "plans", abstract: "(being built)")
}
