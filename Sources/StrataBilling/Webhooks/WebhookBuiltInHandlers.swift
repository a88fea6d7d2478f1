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
    /// - `invoice.created`, `invoice.finalized`, `invoice.payment_failed` and
    ///   `invoice.payment_succeeded` record the invoice in `data.object` (and its lines)
    ///   with ``InvoiceService/record(_:customer:context:)``: any order, any number of
    ///   times, an older event never replacing a newer state (see ``InvoiceService``).
    /// - `invoice.payment_failed` also opens a grace period as
    ///   ``GracePeriodService/paymentFailed(customer:reason:context:)`` does, and
    ///   `invoice.payment_succeeded` resolves it as
    ///   ``GracePeriodService/paymentSucceeded(customer:context:)`` does, in the
    ///   transaction that records the invoice: both happen or neither. An event older
    ///   than the invoice's stored state (a failure delivered after the payment of the
    ///   same invoice) records nothing and leaves the grace period alone.
    ///
    /// The customer is the external id in `data.object.metadata.customer`, or else the
    /// customer whose `provider_customer_id` is `data.object.customer`. An event that
    /// names neither, or a customer or package that does not exist, or an invoice event
    /// without the invoice's fields (``ProviderInvoice/init(stripeEvent:)``), fails its
    /// attempt: it is retried, then dead, for an operator to fix and replay. Audit rows
    /// carry the actor `webhook:<provider>` and the request id `<provider>:<event id>`.
    ///
    /// ```swift
    /// let registry = WebhookHandlerRegistry.builtIn(
    ///     wallets: WalletService(database: db, clock: clock, logger: logger),
    ///     grace: GracePeriodService(database: db, clock: clock, logger: logger))
    /// ```
    public static func builtIn(wallets: WalletService, grace: GracePeriodService) -> WebhookHandlerRegistry {
        builtIn(wallets: wallets, grace: grace,
                invoices: InvoiceService(database: grace.database, clock: grace.clock, logger: grace.logger))
    }

    /// The built-in handlers (see ``builtIn(wallets:grace:)``), recording invoices through `invoices`.
    public static func builtIn(wallets: WalletService, grace: GracePeriodService,
                               invoices: InvoiceService) -> WebhookHandlerRegistry {
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
        let recordInvoice: Handler = { event in
            let customer = try await customerID(of: event, in: invoices.database)
            let invoice = try ProviderInvoice(stripeEvent: event)
            try await invoices.record(invoice, customer: customer, context: context(of: event))
        }
        registry.register("invoice.created", handler: recordInvoice)
        registry.register("invoice.finalized", handler: recordInvoice)
        registry.register("invoice.payment_failed") { event in
            let customer = try await customerID(of: event, in: grace.database)
            let invoice = try ProviderInvoice(stripeEvent: event)
            let reason = String("invoice \(invoice.providerInvoiceID) payment failed".prefix(191))
            let context = context(of: event)
            let now = grace.clock.now()
            let opened = try await invoices.record(invoice, customer: customer, context: context, now: now) { conn, change in
                if case .superseded = change { return FailedPaymentOutcome?.none }
                return try grace.recordFailedPayment(conn, customer: customer, reason: reason, context: context, now: now)
            }.result
            if let opened { grace.log(opened, customer: customer) }
        }
        registry.register("invoice.payment_succeeded") { event in
            let customer = try await customerID(of: event, in: grace.database)
            let invoice = try ProviderInvoice(stripeEvent: event)
            let context = context(of: event)
            let now = grace.clock.now()
            let resolved = try await invoices.record(invoice, customer: customer, context: context, now: now) { conn, change in
                if case .superseded = change { return SucceededPaymentOutcome?.none }
                return try grace.recordSucceededPayment(conn, customer: customer, context: context, now: now)
            }.result
            if let resolved { grace.log(resolved, customer: customer) }
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
