import Hummingbird
import StrataBilling
import StrataSQL

extension APIError {
    /// The answer for any error a route or the framework threw.
    ///
    /// Service errors are matched by value, so each refusal keeps its own status and
    /// code; a database error is a 503 when the database is unreachable (a retry may
    /// work) and a 500 otherwise; anything unknown is a 500. Only the messages of the
    /// services' own refusals reach the caller: they describe the caller's request,
    /// never the server.
    public init(_ error: any Error) {
        switch error {
        case let e as APIError:
            self = e
        case let e as WalletError:
            self = Self.wallet(e)
        case let e as WebhookError:
            self = Self.webhook(e)
        case let e as GracePeriodError:
            switch e {
            case .unknownCustomer, .noSubscription: self = APIError(.notFound, "BILLING_NO_SUBSCRIPTION", "you have no subscription")
            case .subscriptionRestricted: self = APIError(.conflict, "BILLING_SUBSCRIPTION_RESTRICTED", e.description)
            }
        case let e as SubscriptionError:
            switch e {
            case .unknownPlan, .inactivePlan: self = APIError(.notFound, "BILLING_PLAN_NOT_FOUND", e.description)
            case .unknownSubscription: self = APIError(.notFound, "BILLING_NO_SUBSCRIPTION", e.description)
            case .alreadySubscribed, .subscriptionCanceled: self = APIError(.conflict, "BILLING_SUBSCRIPTION_CONFLICT", e.description)
            case .invalidQuantity: self = APIError(.badRequest, "INVALID_REQUEST", e.description)
            case .usageOverflow: self = APIError(.unprocessableContent, "BILLING_USAGE_OVERFLOW", e.description)
            }
        case let e as InvoiceError:
            switch e {
            case .unknownCustomer: self = APIError(.notFound, "BILLING_CUSTOMER_NOT_FOUND", e.description)
            case .invalidCursor, .invalidLimit: self = APIError(.badRequest, "INVALID_REQUEST", e.description)
            case .invalidInvoice: self = APIError(.badRequest, "INVALID_REQUEST", e.description)
            }
        case let e as ReconciliationError:
            self = APIError(.badRequest, "INVALID_REQUEST", e.description)
        case let e as IdempotencyError:
            switch e {
            case .conflict: self = APIError(.unprocessableContent, "IDEMPOTENCY_KEY_REUSED", e.description)
            case .inProgress: self = APIError(.conflict, "IDEMPOTENCY_KEY_IN_PROGRESS", e.description)
            case .lockLost: self = APIError(.conflict, "IDEMPOTENCY_KEY_IN_PROGRESS", e.description)
            case .invalidKey: self = APIError(.badRequest, "INVALID_IDEMPOTENCY_KEY", e.description)
            }
        case let e as DatabaseError:
            switch e.category {
            case .connectionRefused, .connectionLost, .authentication, .unknownDatabase, .timeout, .poolClosed, .lockTimeout:
                self = .unavailable
            default:
                self = .internalError
            }
        case is CancellationError:
            self = .unavailable
        case let e as any HTTPResponseError:
            // The framework's own: no route (404), a body past the limit (413) …
            switch e.status {
            case .notFound: self = APIError(.notFound, "NOT_FOUND", "no such route")
            case .contentTooLarge: self = APIError(.contentTooLarge, "PAYLOAD_TOO_LARGE", "the request body is too large")
            case .methodNotAllowed: self = APIError(.methodNotAllowed, "METHOD_NOT_ALLOWED", "this route does not take that method")
            case let status where (400..<500).contains(status.code):
                self = APIError(status, "BAD_REQUEST", "the request was refused: \(status.reasonPhrase)")
            default: self = .internalError
            }
        default:
            self = .internalError
        }
    }

    private static func wallet(_ e: WalletError) -> APIError {
        switch e {
        case .insufficientCredits(let balance, let required):
            APIError(APIError.paymentRequired, "BILLING_INSUFFICIENT_CREDITS", e.description,
                     facts: ["balance": balance, "required": required])
        case .unknownAgent: APIError(.notFound, "BILLING_AGENT_NOT_FOUND", e.description)
        case .inactiveAgent: APIError(.notFound, "BILLING_AGENT_INACTIVE", e.description)
        case .unknownPackage, .inactivePackage: APIError(.notFound, "BILLING_PACKAGE_NOT_FOUND", e.description)
        case .transactionNotFound: APIError(.notFound, "BILLING_TRANSACTION_NOT_FOUND", e.description)
        case .noWallet: APIError(.notFound, "BILLING_WALLET_NOT_FOUND", e.description)
        case .notRefundable, .alreadyRefunded: APIError(.conflict, "BILLING_NOT_REFUNDABLE", e.description)
        case .runChargedForAnotherAgent: APIError(.conflict, "BILLING_RUN_CONFLICT", e.description)
        case .invalidRequest: APIError(.badRequest, "INVALID_REQUEST", e.description)
        case .balanceOverflow: APIError(.unprocessableContent, "BILLING_BALANCE_OVERFLOW", e.description)
        }
    }

    private static func webhook(_ e: WebhookError) -> APIError {
        switch e {
        case .invalidSignature: APIError(.badRequest, "WEBHOOK_SIGNATURE_INVALID", e.description)
        case .invalidPayload: APIError(.badRequest, "WEBHOOK_PAYLOAD_INVALID", e.description)
        case .payloadTooLarge: APIError(.contentTooLarge, "PAYLOAD_TOO_LARGE", e.description)
        case .eventNotFound: APIError(.notFound, "WEBHOOK_EVENT_NOT_FOUND", e.description)
        case .notDead: APIError(.conflict, "WEBHOOK_EVENT_NOT_DEAD", e.description)
        case .noHandler: .internalError
        }
    }
}
