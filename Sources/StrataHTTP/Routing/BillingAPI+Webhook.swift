import Hummingbird
import StrataBilling

extension BillingAPI {
    /// `POST /billing/webhook`: a Stripe delivery, stored once for the workers.
    ///
    /// The body is read as the exact bytes Stripe signed (at most 1 MiB) and handed to
    /// ``WebhookInbox``, which checks `Stripe-Signature` (`t=…,v1=…`, any of several
    /// `v1`, five minutes of tolerance) before it stores anything. `200` once the event
    /// is stored or known; `400` for a missing, bad or stale signature or a body that is
    /// not an event. Processing is the workers' job, never the request's.
    func webhook(_ request: Request, _ context: APIRequestContext) async throws -> Response {
        try JSONBody.requireJSONContentType(request)
        guard let signature = request.headers[Self.signatureField], !signature.isEmpty else {
            throw APIError.badRequest("WEBHOOK_SIGNATURE_INVALID", "missing Stripe-Signature header")
        }
        let bytes = try await JSONBody.bytes(of: request, limit: BodyLimits.webhook)
        let payload = String(decoding: bytes.readableBytesView, as: UTF8.self)
        let result = try await inbox.receive(
            provider: Self.webhookProvider, payload: payload, signatureHeader: signature,
            context: BillingContext(actor: "webhook:\(Self.webhookProvider)", requestID: context.requestID))
        return try JSONResponse.make(.ok, WebhookReceiptBody(duplicate: result.isDuplicate))
    }
}
