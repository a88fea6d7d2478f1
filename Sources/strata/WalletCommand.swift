import ArgumentParser

/// `strata wallet`: being built.
struct Wallet: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "wallet", abstract: "(being built)")
}
