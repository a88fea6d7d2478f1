import Hummingbird
import StrataBilling

extension BillingAPI {
    /// `GET /ready`: `503` with the reason until the database answers with an up-to-date schema.
    func ready(_ context: APIRequestContext) async throws -> Response {
        if let problem = await readiness.problem() {
            return JSONResponse.error(APIError(.serviceUnavailable, "NOT_READY", problem), requestID: context.requestID)
        }
        return try JSONResponse.make(.ok, StatusBody(status: "ready"))
    }

    /// `GET /billing/agent-costs`: the agents a run can be charged for.
    func agentCosts() async throws -> Response {
        let active = try await agents.list(includeInactive: false)
        return try JSONResponse.make(.ok, ListBody(name: "agent_costs", items: active.map(AgentCostBody.init)))
    }

    /// `GET /billing/packages`: the credit packages on sale, cheapest first.
    func creditPackages() async throws -> Response {
        let onSale = try await packages.list(includeInactive: false)
        return try JSONResponse.make(.ok, ListBody(name: "packages", items: onSale.map(PackageBody.init)))
    }

    /// `GET /billing/plans`: the active plans.
    func plans() async throws -> Response {
        let active = try await subscriptions.plans(includeInactive: false)
        return try JSONResponse.make(.ok, ListBody(name: "plans", items: active.map(PlanBody.init)))
    }
}
