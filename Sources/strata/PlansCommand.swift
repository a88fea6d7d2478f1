import ArgumentParser
import Foundation
import StrataBilling
import StrataDrivers
import StrataSQL

/// `strata plans`: the plan catalogue, subscriptions and usage.
struct Plans: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "plans",
        abstract: "The plan catalogue, subscriptions and usage against the plan's limit.",
        discussion: """
            Plans come from seeds/plans.json (`strata seed plans`). A customer has at most one \
            subscription that is not canceled. Usage counts per subscription and period; the \
            percentage is bounded to 0-100 (a zero limit reads 100 % from the first unit), and \
            the 80 % and 100 % alerts fire once per period, however many records land at once.
            """,
        subcommands: [PlansList.self, PlansSubscribe.self, PlansUsage.self])
}

struct PlansList: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "List the plans, cheapest first.")
    @Flag(help: "Also list inactive plans.") var all = false
    @OptionGroup var connection: ConnectionOptions
    @OptionGroup var output: OutputOptions

    func run() async throws {
        try await guarded(json: output.json) {
            try await withBillingDatabase(connection, maxConnections: 1) { db in
                let service = SubscriptionService(database: db, clock: SystemClock(), logger: connection.logger())
                let plans = try await service.plans(includeInactive: all)
                if output.json {
                    printJSON(["command": "plans list", "plans": plans.map(\.cliJSON)])
                } else {
                    for p in plans {
                        let cents = p.priceMinor % 100
                        let price = "\(p.priceMinor / 100).\(cents < 10 ? "0" : "")\(cents) \(p.currency)"
                        print([p.code.padding(toLength: 12, withPad: " ", startingAt: 0),
                               p.name.padding(toLength: 12, withPad: " ", startingAt: 0),
                               "\(price)/\(p.interval.rawValue)".padding(toLength: 18, withPad: " ", startingAt: 0),
                               "limit \(p.usageLimit)".padding(toLength: 13, withPad: " ", startingAt: 0),
                               "credits \(p.includedCredits)", p.active ? "" : "(inactive)"]
                            .joined(separator: "  ").trimmingCharacters(in: .whitespaces))
                    }
                }
            }
        }
    }
}

struct PlansSubscribe: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "subscribe", abstract: "Subscribe a customer to a plan (the customer is created on first use).")
    @Argument(help: "The customer's external id.") var customer: String
    @Argument(help: ArgumentHelp("The plan's code.", valueName: "plan-code")) var planCode: String
    @OptionGroup var connection: ConnectionOptions
    @OptionGroup var change: BillingChangeOptions
    @OptionGroup var output: OutputOptions

    func run() async throws {
        try await guarded(json: output.json) {
            try await withBillingDatabase(connection) { db in
                let service = SubscriptionService(database: db, clock: SystemClock(), logger: connection.logger())
                let sub = try await service.subscribe(customer: customer, planCode: planCode, context: change.context())
                if output.json {
                    printJSON(["command": "plans subscribe", "ok": true, "customer": customer, "plan": planCode,
                               "subscription": sub.cliJSON])
                } else {
                    print("subscription \(sub.id): \(customer) on \(planCode), \(sub.state.rawValue), period \(sub.currentPeriodStart.iso8601) to \(sub.currentPeriodEnd.iso8601)")
                }
            }
        }
    }
}

struct PlansUsage: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "usage", abstract: "Show a subscription's usage this period; --record N counts N units first.")
    @Argument(help: ArgumentHelp("The subscription's id.", valueName: "subscription-id")) var subscriptionID: Int64
    @Option(help: ArgumentHelp("Units to record before showing the usage.", valueName: "n")) var record: Int64?
    @OptionGroup var connection: ConnectionOptions
    @OptionGroup var change: BillingChangeOptions
    @OptionGroup var output: OutputOptions

    func validate() throws {
        guard subscriptionID > 0 else { throw ValidationError("SUBSCRIPTION-ID must be more than 0, not \(subscriptionID)") }
        if let record, record <= 0 { throw ValidationError("--record must be a positive number of units, not \(record)") }
    }

    func run() async throws {
        try await guarded(json: output.json) {
            try await withBillingDatabase(connection) { db in
                let service = UsageService(database: db, clock: SystemClock(), logger: connection.logger())
                var fired: [UsageThreshold] = []
                let metrics: UsageMetrics
                if let record {
                    let recording = try await service.recordUsage(subscriptionID: subscriptionID, quantity: record,
                                                                  context: change.context())
                    metrics = recording.metrics
                    fired = recording.fired
                } else {
                    metrics = try await service.usage(subscriptionID: subscriptionID)
                }
                if output.json {
                    var object = metrics.cliJSON
                    object["command"] = "plans usage"
                    object["recorded"] = record ?? 0
                    object["fired"] = fired.map(\.percent)
                    printJSON(object)
                } else {
                    if let record { print("recorded \(record)") }
                    for t in fired { print("alert fired: \(t.percent) %") }
                    print("subscription \(subscriptionID): \(metrics.used) of \(metrics.limit) used (\(String(format: "%.1f", metrics.percentage)) %), period \(metrics.periodStart.iso8601) to \(metrics.periodEnd.iso8601)")
                    if !metrics.alerts.isEmpty {
                        print("alerts this period: " + metrics.alerts.map { "\($0.threshold.percent) % at \($0.firedAt.iso8601)" }.joined(separator: ", "))
                    }
                }
            }
        }
    }
}

extension Plan {
    var cliJSON: [String: Any] {
        let features = (try? JSONSerialization.jsonObject(with: Data(features.utf8))) ?? features
        return ["id": id, "code": code, "name": name, "price_minor": priceMinor, "currency": currency,
                "interval": interval.rawValue, "included_credits": includedCredits, "usage_limit": usageLimit,
                "features": features, "active": active]
    }
}

extension Subscription {
    var cliJSON: [String: Any] {
        ["id": id, "customer_id": customerID, "plan_id": planID, "state": state.rawValue,
         "current_period_start": currentPeriodStart.iso8601, "current_period_end": currentPeriodEnd.iso8601,
         "created_at": createdAt.iso8601]
    }
}

extension UsageMetrics {
    var cliJSON: [String: Any] {
        ["subscription_id": subscriptionID, "period_start": periodStart.iso8601, "period_end": periodEnd.iso8601,
         "used": used, "limit": limit, "percentage": percentage, "remaining": remaining, "over_limit": overLimit,
         "alerts": alerts.map { ["threshold": $0.threshold.percent, "fired_at": $0.firedAt.iso8601] as [String: Any] }]
    }
}
