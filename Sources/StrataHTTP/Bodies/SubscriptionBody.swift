import StrataBilling

/// `GET /billing/subscription`: the caller's current subscription and its plan's code.
struct SubscriptionBody: Encodable {
    var id: Int64
    var plan: String
    var state: String
    var currentPeriodStart: String
    var currentPeriodEnd: String

    init(_ s: Subscription, planCode: String) {
        id = s.id
        plan = planCode
        state = s.state.rawValue
        currentPeriodStart = s.currentPeriodStart.iso8601
        currentPeriodEnd = s.currentPeriodEnd.iso8601
    }

    enum CodingKeys: String, CodingKey {
        case id, plan, state
        case currentPeriodStart = "current_period_start"
        case currentPeriodEnd = "current_period_end"
    }
}
