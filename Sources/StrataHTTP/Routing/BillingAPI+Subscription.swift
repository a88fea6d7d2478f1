import Hummingbird
import StrataBilling

extension BillingAPI {
    /// The caller's current subscription, or `404 BILLING_NO_SUBSCRIPTION`.
    func currentSubscription(of caller: Caller) async throws -> Subscription {
        guard let subscription = try await subscriptions.currentSubscription(customer: caller.subject) else {
            throw APIError(.notFound, "BILLING_NO_SUBSCRIPTION", "you have no subscription")
        }
        return subscription
    }

    /// `GET /billing/subscription`.
    func subscription(_ request: Request, _ context: APIRequestContext) async throws -> Response {
        let current = try await currentSubscription(of: try await customer(request))
        let plan = try await subscriptions.plans(includeInactive: true).first { $0.id == current.planID }
        return try JSONResponse.make(.ok, SubscriptionBody(current, planCode: plan?.code ?? ""))
    }

    /// `GET /billing/usage`: this period's usage of the caller's subscription.
    func usage(_ request: Request, _ context: APIRequestContext) async throws -> Response {
        let current = try await currentSubscription(of: try await customer(request))
        return try JSONResponse.make(.ok, UsageBody(try await usageService.usage(subscriptionID: current.id)))
    }

    /// `POST /billing/usage` `{"quantity"}`: records units used, firing the 80 % and
    /// 100 % alerts once per period.
    func recordUsage(_ request: Request, _ context: APIRequestContext) async throws -> Response {
        let caller = try await customer(request)
        let body = try await JSONBody.decode(UsageRequest.self, from: request)
        let current = try await currentSubscription(of: caller)
        let recorded = try await usageService.recordUsage(subscriptionID: current.id, quantity: body.quantity,
                                                          context: caller.context(requestID: context.requestID))
        return try JSONResponse.make(.ok, UsageBody(recorded.metrics, fired: recorded.fired))
    }

    /// `GET /billing/access`: what the caller may use now.
    func access(_ request: Request, _ context: APIRequestContext) async throws -> Response {
        let caller = try await customer(request)
        return try JSONResponse.make(.ok, AccessBody(try await grace.access(for: caller.subject)))
    }
}
