import StrataBilling

/// One chargeable agent of `GET /billing/agent-costs`.
struct AgentCostBody: Encodable {
    var agent: String
    var displayName: String
    var creditsPerRun: Int64

    init(_ a: AgentCost) {
        agent = a.key
        displayName = a.displayName
        creditsPerRun = a.creditsPerRun
    }

    enum CodingKeys: String, CodingKey {
        case agent
        case displayName = "display_name"
        case creditsPerRun = "credits_per_run"
    }
}
