import Hummingbird
import Logging

/// What a request carries between the middleware and its route: its request id.
///
/// The id is set by ``RequestEnvelopeMiddleware`` before any route runs, and reaches the
/// services as the ``StrataBilling/BillingContext`` request id, so audit rows name it.
public struct APIRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    /// The request's id (see ``RequestID``); empty only before the middleware ran.
    public var requestID = ""

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
    }

    /// Bodies are read by ``JSONBody`` with the limits of each route, never by the framework's
    /// decoder; this bound is a backstop only.
    public var maxUploadSize: Int { BodyLimits.webhook }
}
