import ArgumentParser
import Foundation
import StrataBilling
import StrataDrivers
import StrataSQL

/// `strata agents`: the agents that can be charged for.
struct Agents: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "agents", abstract: "The agents that runs are charged for, with their cost.",
        subcommands: [AgentsList.self], defaultSubcommand: AgentsList.self)
}

struct AgentsList: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list", abstract: "List agents, active and inactive, with their credits per run.")

    @Flag(help: "Leave inactive agents out.")
    var activeOnly = false

    @OptionGroup var connection: ConnectionOptions
    @OptionGroup var output: OutputOptions

    func run() async throws {
        try await guarded(json: output.json) {
            let db = try connection.database(maxConnections: 1)
            let agents: [AgentCost]
            do {
                agents = try await AgentCatalogue(database: db).list(includeInactive: !activeOnly)
            } catch {
                await db.close()
                throw error
            }
            await db.close()
            if output.json {
                printJSON(["command": "agents list", "agents": agents.map { a in [
                    "agent_key": a.key, "display_name": a.displayName, "credits_per_run": a.creditsPerRun, "active": a.active,
                ] as [String: Any] }])
                return
            }
            let keyWidth = max(9, agents.map(\.key.count).max() ?? 0)
            print("AGENT".padding(toLength: keyWidth, withPad: " ", startingAt: 0) + "  CREDITS/RUN  ACTIVE  NAME")
            for a in agents {
                let cost = String(a.creditsPerRun)
                print(a.key.padding(toLength: keyWidth, withPad: " ", startingAt: 0) + "  "
                      + String(repeating: " ", count: max(0, 11 - cost.count)) + cost + "  "
                      + (a.active ? "yes   " : "no    ") + "  " + a.displayName)
            }
        }
    }
}
