import ArgumentParser

/// `strata webhooks`: being built.
struct Webhooks: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "webhooks", abstract: "(being built)")
}
