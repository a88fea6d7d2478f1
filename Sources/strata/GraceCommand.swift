import ArgumentParser

/// `strata grace`: being built.
struct Grace: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "grace", abstract: "(being built)")
}
