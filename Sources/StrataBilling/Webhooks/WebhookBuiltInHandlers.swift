import StrataSQL

extension WebhookHandlerRegistry {
    /// The handlers Strata ships for Stripe's billing events.
    ///
    /// - `checkout.session.completed` and `checkout.session.async_payment_succeeded`
    ///   credit the package bought (`data.object.metadata.package_id`) to the customer's
    ///   wallet with ``WalletService/purchase(customer:packageID:paymentReference:context:idempotencyKey:)``;
    ///   the payment reference is the session id (`data.object.id`) and the idempotency
    ///   key the event's ``WebhookEvent/reference``, so a retried or replayed event, or
    ///   both events of one session, credit it once. A completed session whose
    ///   `payment_status` is `unpaid` (a delayed payment method) credits nothing yet:
    ///   the `async_payment_succeeded` event does when the money arrives.
    /// - `invoice.payment_failed` opens a grace period with
    ///   ``GracePeriodService/paymentFailed(customer:reason:context:)``.
    /// - `invoice.payment_succeeded` resolves it with
    ///   ``GracePeriodService/paymentSucceeded(customer:context:)``.
    ///
    /// The customer is the external id in `data.object.metadata.customer`, or else the
    /// customer whose `provider_customer_id` is `data.object.customer`. An event that
    /// names neither, or a customer or package that does not exist, fails its attempt: it
    /// is retried, then dead, for an operator to fix and replay. Audit rows carry the
    /// actor `webhook:<provider>` and the request id `<provider>:<event id>`.
    ///
    /// ```swift
    /// let registry = WebhookHandlerRegistry.builtIn(
    ///     wallets: WalletService(database: db, clock: clock, logger: logger),
    ///     grace: GracePeriodService(database: db, clock: clock, logger: logger))
    /// ```
    public static func builtIn(wallets: WalletService, grace: GracePeriodService) -> WebhookHandlerRegistry {
        var registry = WebhookHandlerRegistry()
        let purchase: Handler = { event in
            if event.string(at: "data", "object", "payment_status") == "unpaid" { return }
            guard let packageID = event.string(at: "data", "object", "metadata", "package_id"), !packageID.isEmpty else {
                throw WebhookError.invalidPayload("\(event.type) \(event.eventID) has no data.object.metadata.package_id")
            }
            guard let session = event.string(at: "data", "object", "id"), !session.isEmpty else {
                throw WebhookError.invalidPayload("\(event.type) \(event.eventID) has no data.object.id")
            }
            let customer = try await customerID(of: event, in: wallets.database)
            try await wallets.purchase(customer: customer, packageID: packageID, paymentReference: session,
                                       context: context(of: event), idempotencyKey: event.reference)
        }
        registry.register("checkout.session.completed", handler: purchase)
        registry.register("checkout.session.async_payment_succeeded", handler: purchase)
        registry.register("invoice.payment_failed") { event in
            let customer = try await customerID(of: event, in: grace.database)
            let invoice = event.string(at: "data", "object", "id") ?? event.eventID
            _ = try await grace.paymentFailed(customer: customer, reason: String("invoice \(invoice) payment failed".prefix(191)),
                                              context: context(of: event))
        }
        registry.register("invoice.payment_succeeded") { event in
            let customer = try await customerID(of: event, in: grace.database)
            _ = try await grace.paymentSucceeded(customer: customer, context: context(of: event))
        }
        return registry
    }

    /// Who the handlers act as: the provider, traced by the event.
    static func context(of event: WebhookEvent) -> BillingContext {
        BillingContext(actor: "webhook:\(event.provider)", requestID: event.reference)
    }

    /// The customer's external id: `data.object.metadata.customer`, or the customer
    /// whose provider customer id is `data.object.customer`.
    ///
    /// - Throws: ``WebhookError/invalidPayload(_:)`` when the event names no known customer.
    static func customerID(of event: WebhookEvent, in database: Database) async throws -> String {
        if let external = event.string(at: "data", "object", "metadata", "customer"), !external.isEmpty {
            return external
        }
        guard let providerCustomer = event.string(at: "data", "object", "customer"), !providerCustomer.isEmpty else {
            throw WebhookError.invalidPayload(
                "\(event.type) \(event.eventID) names no customer (data.object.metadata.customer or data.object.customer)")
        }
        let found: String? = try await database.withConnection { conn in
            try conn.queryFirst("SELECT external_id FROM customers WHERE provider_customer_id = \(providerCustomer)")?
                .decode("external_id")
        }
        guard let found else {
            throw WebhookError.invalidPayload("no customer has the provider customer id '\(providerCustomer)'")
        }
        return found
    }
}
