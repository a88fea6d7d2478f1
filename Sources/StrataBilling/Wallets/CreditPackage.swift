/// A credit package a customer can buy, from `credit_packages`.
///
/// A purchase (``WalletService/purchase(customer:packageID:paymentReference:context:idempotencyKey:)``)
/// adds the package's ``credits``; the price is in the currency's minor units.
///
/// ```swift
/// let packages = try await CreditPackageCatalogue(database: db).list()
/// packages.first { $0.id == "credits_1000" }?.credits   // 1000
/// ```
public struct CreditPackage: Sendable, Hashable {
    /// The package's stable id (`credits_1000`), which checkout metadata names.
    public var id: String
    public var name: String
    public var credits: Int64
    /// The price in minor units (cents).
    public var priceMinor: Int64
    /// ISO 4217, upper case.
    public var currency: String
    /// The payment provider's price id for checkout.
    public var providerPriceID: String
    /// Inactive packages stay listed for history but cannot be bought.
    public var active: Bool

    public init(id: String, name: String, credits: Int64, priceMinor: Int64, currency: String,
                providerPriceID: String, active: Bool) {
        self.id = id
        self.name = name
        self.credits = credits
        self.priceMinor = priceMinor
        self.currency = currency
        self.providerPriceID = providerPriceID
        self.active = active
    }
}
