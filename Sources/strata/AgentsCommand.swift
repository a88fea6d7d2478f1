import ArgumentParser

/// `strata agents`: being built.
struct Agents: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "agents", abstract: "(being built)")
}
