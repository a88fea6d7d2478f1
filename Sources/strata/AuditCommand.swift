import ArgumentParser

/// `strata audit`: being built.
struct Audit: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "audit", abstract: "(being built)")
}
