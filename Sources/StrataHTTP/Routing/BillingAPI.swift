import HTTPTypes
import Hummingbird
import Logging
import StrataBilling
import StrataSQL

/// The billing services as HTTP routes: JSON in and out, Bearer tokens, one error shape.
///
/// Holds the services and builds the router; it runs no SQL of its own. Routes:
///
/// | route | who | answer |
/// |---|---|---|
/// | `GET /health` | anyone | `200 {"status": "ok"}` while the process runs |
/// | `GET /metrics` | anyone | Prometheus's text format (``ServeMetrics``); scrape it from the private network |
/// | `GET /ready` | anyone | `200 {"status": "ready"}`, or `503` with the reason (``ReadinessCheck``) |
/// | `GET /openapi.json` | anyone | the OpenAPI 3.1 document of these routes, verbatim (``OpenAPIDocument``) |
/// | `GET /billing/agent-costs` | anyone | `{"agent_costs": [{"agent", "display_name", "credits_per_run"}]}`, active agents |
/// | `GET /billing/packages` | anyone | `{"packages": [...]}`, packages on sale |
/// | `GET /billing/plans` | anyone | `{"plans": [...]}`, active plans |
/// | `GET /billing/wallet?limit=&cursor=` | customer | ``WalletBody`` (the wallet is created at 0 on first sight) |
/// | `GET /billing/history?kind=&limit=&cursor=` | customer | ``HistoryBody`` (the ledger, or one kind of row) |
/// | `POST /billing/charges` | customer | `201` ``ChargeBody``; `200` with `replay: true` for a run already charged |
/// | `GET /billing/invoices?limit=&cursor=&customer=` | customer (`customer`: admin) | ``InvoiceListBody``, newest first |
/// | `GET /billing/invoices/{id}` | customer (any invoice: admin) | ``InvoiceDetailBody``; another customer's is `404` |
/// | `GET /billing/subscription` | customer | ``SubscriptionBody``; `404 BILLING_NO_SUBSCRIPTION` |
/// | `GET /billing/usage`, `POST /billing/usage` `{"quantity"}` | customer | ``UsageBody`` |
/// | `GET /billing/access` | customer | ``AccessBody``: full, grace with days left, restricted |
/// | `POST /billing/admin/grant` | admin | ``GrantBody`` |
/// | `POST /billing/admin/refunds` | admin | ``GrantBody`` of the refund row |
/// | `GET /billing/admin/webhooks/dead` | admin | `{"events": [...]}` (``WebhookEventBody``) |
/// | `POST /billing/admin/webhooks/{id}/replay` | admin | ``WebhookEventBody``, pending again |
/// | `GET /billing/admin/ledger/verify` | admin | ``LedgerVerificationBody`` |
/// | `GET /billing/admin/audit?subject_type=&subject=&limit=` | admin | `{"entries": [...]}` (``AuditEntryBody``) |
/// | `POST /billing/reconcile` `{"since", "until"}` | admin | the run's ``StrataBilling/ReconciliationReport``; `Idempotency-Key` replays it |
/// | `POST /billing/webhook` | Stripe's signature | `200` ``WebhookReceiptBody`` once stored or a duplicate |
///
/// Catalogue reads are public: they are the price list. Everything a customer owns is
/// behind a token, and its customer is always the token's subject.
public struct BillingAPI: Sendable {
    let wallets: WalletService
    let agents: AgentCatalogue
    let packages: CreditPackageCatalogue
    let subscriptions: SubscriptionService
    let usageService: UsageService
    let grace: GracePeriodService
    let invoiceService: InvoiceService
    let inbox: WebhookInbox
    let reconciliation: ReconciliationService
    let authenticator: BearerAuthenticator
    let readiness: ReadinessCheck
    let metrics: ServeMetrics
    let logger: Logger
    /// For the audit log's reads, which are a function of the log, not a service.
    let database: Database

    /// The webhook provider whose signature scheme `/billing/webhook` speaks.
    static let webhookProvider = "stripe"
    static let signatureField = HTTPField.Name("Stripe-Signature")!

    public init(database: Database, clock: any BillingClock, webhookSecret: String, authenticator: BearerAuthenticator,
                readiness: ReadinessCheck, metrics: ServeMetrics, logger: Logger) {
        wallets = WalletService(database: database, clock: clock, logger: logger)
        agents = AgentCatalogue(database: database)
        packages = CreditPackageCatalogue(database: database)
        subscriptions = SubscriptionService(database: database, clock: clock, logger: logger)
        usageService = UsageService(database: database, clock: clock, logger: logger)
        grace = GracePeriodService(database: database, clock: clock, logger: logger)
        invoiceService = InvoiceService(database: database, clock: clock, logger: logger)
        inbox = WebhookInbox(database: database, clock: clock, logger: logger, secret: webhookSecret)
        reconciliation = ReconciliationService(database: database, clock: clock, logger: logger)
        self.database = database
        self.authenticator = authenticator
        self.readiness = readiness
        self.metrics = metrics
        self.logger = logger
    }

    /// The router: the envelope middleware first, so it wraps every route and "no such route".
    public func router() -> Router<APIRequestContext> {
        let router = Router(context: APIRequestContext.self)
        router.add(middleware: RequestEnvelopeMiddleware(logger: logger))
        router.get("/health") { _, _ in try JSONResponse.make(.ok, StatusBody(status: "ok")) }
        router.get("/ready") { _, context in try await ready(context) }
        router.get("/metrics") { _, _ in await metricsExposition() }
        router.get("/openapi.json") { _, _ in OpenAPIDocument.response() }
        router.get("/billing/agent-costs") { _, _ in try await agentCosts() }
        router.get("/billing/packages") { _, _ in try await creditPackages() }
        router.get("/billing/plans") { _, _ in try await plans() }
        router.get("/billing/wallet") { request, context in try await wallet(request, context) }
        router.post("/billing/charges") { request, context in try await charge(request, context) }
        router.get("/billing/history") { request, context in try await history(request, context) }
        router.get("/billing/invoices") { request, context in try await invoices(request, context) }
        router.get("/billing/invoices/:id") { request, context in try await invoice(request, context) }
        router.get("/billing/subscription") { request, context in try await subscription(request, context) }
        router.get("/billing/usage") { request, context in try await usage(request, context) }
        router.post("/billing/usage") { request, context in try await recordUsage(request, context) }
        router.get("/billing/access") { request, context in try await access(request, context) }
        router.post("/billing/admin/grant") { request, context in try await grant(request, context) }
        router.post("/billing/admin/refunds") { request, context in try await refund(request, context) }
        router.get("/billing/admin/webhooks/dead") { request, context in try await deadWebhooks(request, context) }
        router.post("/billing/admin/webhooks/:id/replay") { request, context in try await replayWebhook(request, context) }
        router.get("/billing/admin/audit") { request, context in try await audit(request, context) }
        router.get("/billing/admin/ledger/verify") { request, context in try await verifyLedgers(request, context) }
        router.post("/billing/reconcile") { request, context in try await reconcile(request, context) }
        router.post("/billing/webhook") { request, context in try await webhook(request, context) }
        return router
    }

    /// The caller of a customer route.
    func customer(_ request: Request) async throws -> Caller {
        try await authenticator.authenticate(request.headers[.authorization])
    }

    /// The caller of an admin route: `403` for a valid token without the admin role.
    func admin(_ request: Request) async throws -> Caller {
        let caller = try await authenticator.authenticate(request.headers[.authorization])
        guard caller.isAdmin else {
            throw APIError(.forbidden, "FORBIDDEN", "this route needs the admin role")
        }
        return caller
    }
}
