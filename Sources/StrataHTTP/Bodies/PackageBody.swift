import StrataBilling

/// One credit package on sale, of `GET /billing/packages`; the price in minor units.
struct PackageBody: Encodable {
    var packageID: String
    var name: String
    var credits: Int64
    var priceMinor: Int64
    var currency: String

    init(_ p: CreditPackage) {
        packageID = p.id
        name = p.name
        credits = p.credits
        priceMinor = p.priceMinor
        currency = p.currency
    }

    enum CodingKeys: String, CodingKey {
        case name, credits, currency
        case packageID = "package_id"
        case priceMinor = "price_minor"
    }
}
