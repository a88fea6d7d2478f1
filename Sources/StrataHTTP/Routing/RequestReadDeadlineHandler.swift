import Foundation
import HTTPTypes
import NIOCore
import NIOHTTPTypes

/// Bounds the time a client takes to send one request, head to the end of its body.
///
/// Hummingbird's idle timeout counts from the last HTTP part read. A head that trickles
/// in is bounded by it (no part is read until the head is whole), but a body sent a
/// byte every few seconds refreshes it at each byte, and would hold the connection and
/// its request task for as long as the client likes. This handler notes the time a head
/// arrives and stops the clock at the body's end. A request still incomplete when a read
/// ends gets a timer for the head's time plus the timeout; one read whole in the read
/// that brought its head (nearly every request) never schedules one, which saves an
/// event-loop timer's scheduling and cancelling on every request. When the timer fires first, the client
/// gets `408 REQUEST_TIMEOUT` in the API's error document and the connection is closed;
/// a route that was waiting for the body sees its stream end and answers nothing.
///
/// No `408` is written when it would not answer the late request: while an answer is
/// being written, or when an earlier pipelined request is still unanswered. Then the
/// connection is only closed.
///
/// It sits in the pipeline after the HTTP/1 decoding (Hummingbird's
/// `additionalChannelHandlers`), so it sees whole heads, body chunks and ends.
final class RequestReadDeadlineHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    private let timeout: TimeAmount
    private var timer: Scheduled<Void>?
    /// When the head of the request being read arrived; `nil` once its end was read.
    private var headReadAt: NIODeadline?
    /// Heads read minus answers finished: the requests this connection still owes an answer.
    private var unanswered = 0
    /// Whether an answer's head is written and its end is not.
    private var answering = false
    /// The late request's `X-Request-Id` as sent, for its error document: an id is only
    /// made (``RequestID/take(_:)``) for a request that times out, not for every one.
    private var requestIDHeader: String?

    init(timeout: TimeAmount) {
        self.timeout = timeout
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            unanswered += 1
            requestIDHeader = head.headerFields[RequestEnvelopeMiddleware.requestIDField]
            timer?.cancel()
            timer = nil
            headReadAt = .now()
        case .body:
            break
        case .end:
            timer?.cancel()
            timer = nil
            headReadAt = nil
        }
        context.fireChannelRead(data)
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        if let headReadAt, timer == nil {
            timer = context.eventLoop.assumeIsolated().scheduleTask(deadline: headReadAt + timeout) { [self] in
                expire(context: context)
            }
        }
        context.fireChannelReadComplete()
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        switch unwrapOutboundIn(data) {
        case .head: answering = true
        case .body: break
        case .end:
            answering = false
            unanswered -= 1
        }
        context.write(data, promise: promise)
    }

    func channelInactive(context: ChannelHandlerContext) {
        timer?.cancel()
        timer = nil
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        timer?.cancel()
        timer = nil
    }

    private func expire(context: ChannelHandlerContext) {
        timer = nil
        headReadAt = nil
        guard context.channel.isActive else { return }
        guard !answering, unanswered == 1 else {
            context.close(promise: nil)
            return
        }
        let seconds = timeout.nanoseconds / 1_000_000_000
        let requestID = RequestID.take(requestIDHeader)
        let error = APIError(.requestTimeout, "REQUEST_TIMEOUT", "the request was not received whole within \(seconds) s")
        let body = (try? JSONResponse.encoder.encode(ErrorBody(error: error, requestID: requestID))) ?? Data()
        var fields = HTTPFields()
        fields[.contentType] = "application/json; charset=utf-8"
        fields[.contentLength] = String(body.count)
        fields[.connection] = "close"
        fields[RequestEnvelopeMiddleware.requestIDField] = requestID
        answering = true
        context.write(wrapOutboundOut(.head(HTTPResponse(status: .requestTimeout, headerFields: fields))), promise: nil)
        context.write(wrapOutboundOut(.body(context.channel.allocator.buffer(bytes: body))), promise: nil)
        let written = context.eventLoop.makePromise(of: Void.self)
        written.futureResult.assumeIsolated().whenComplete { _ in context.close(promise: nil) }
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: written)
    }
}
