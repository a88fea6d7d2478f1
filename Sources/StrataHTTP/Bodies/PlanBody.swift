import Foundation
import StrataBilling

/// One active plan of `GET /billing/plans`, its features as the JSON object they are.
struct PlanBody: Encodable {
    var code: String
    var name: String
    var priceMinor: Int64
    var currency: String
    var interval: String
    var includedCredits: Int64
    var usageLimit: Int64
    var features: JSONFragment

    init(_ p: Plan) {
        code = p.code
        name = p.name
        priceMinor = p.priceMinor
        currency = p.currency
        interval = p.interval.rawValue
        includedCredits = p.includedCredits
        usageLimit = p.usageLimit
        features = (try? JSONDecoder().decode(JSONFragment.self, from: Data(p.features.utf8))) ?? .object([:])
    }

    enum CodingKeys: String, CodingKey {
        case code, name, currency, interval, features
        case priceMinor = "price_minor"
        case includedCredits = "included_credits"
        case usageLimit = "usage_limit"
    }
}
