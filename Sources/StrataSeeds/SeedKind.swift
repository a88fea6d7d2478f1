/// One of the catalogues that `strata seed` loads: which file, which table, which key.
///
/// The raw value is the name the CLI takes (`strata seed agent-costs`). Catalogues load in
/// the order of ``allCases``.
///
/// ```swift
/// SeedKind.plans.fileName     // "plans.json"
/// SeedKind.agentCosts.table   // "agent_costs"
/// ```
public enum SeedKind: String, CaseIterable, Sendable, Hashable, CustomStringConvertible {
    case agentCosts = "agent-costs"
    case plans
    case creditPackages = "credit-packages"

    /// The file in the seeds folder that holds the catalogue.
    public var fileName: String {
        switch self {
        case .agentCosts: "agent_costs.csv"
        case .plans: "plans.json"
        case .creditPackages: "credit_packages.json"
        }
    }

    /// The table the catalogue is loaded into.
    public var table: String {
        switch self {
        case .agentCosts: "agent_costs"
        case .plans: "plans"
        case .creditPackages: "credit_packages"
        }
    }

    /// The column that names a row in the file and in the table (unique in both).
    public var naturalKey: String {
        switch self {
        case .agentCosts: "agent_key"
        case .plans: "code"
        case .creditPackages: "package_id"
        }
    }

    public var description: String { rawValue }
}
