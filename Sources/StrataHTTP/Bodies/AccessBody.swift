import StrataBilling

/// `GET /billing/access`: `full`, `grace` (with `days_left` and `grace_ends_at`) or
/// `restricted`, decided now, not by the last sweep.
struct AccessBody: Encodable {
    var access: String
    var daysLeft: Int?
    var graceEndsAt: String?

    init(_ a: BillingAccess) {
        access = a.name
        if case .grace(let days, let ends) = a {
            daysLeft = days
            graceEndsAt = ends.iso8601
        }
    }

    enum CodingKeys: String, CodingKey {
        case access
        case daysLeft = "days_left"
        case graceEndsAt = "grace_ends_at"
    }
}
