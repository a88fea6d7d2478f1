import Foundation
import Hummingbird

/// JSON answers: a body encoded with sorted keys and the JSON content type.
enum JSONResponse {
    /// Shared: encoding keeps no state between calls.
    static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }()

    static func make(_ status: HTTPResponse.Status = .ok, _ value: some Encodable, headers: HTTPFields = [:]) throws -> Response {
        let data = try encoder.encode(value)
        var headers = headers
        headers[.contentType] = "application/json; charset=utf-8"
        return Response(status: status, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(bytes: data)))
    }

    /// A body that writes its own JSON (the same bytes as the encoder's, faster).
    static func make(_ status: HTTPResponse.Status = .ok, _ value: some JSONWritable, headers: HTTPFields = [:]) -> Response {
        var headers = headers
        headers[.contentType] = "application/json; charset=utf-8"
        return Response(status: status, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(bytes: JSONWriter.document(value))))
    }

    /// The error document of `error` for the request `requestID`.
    static func error(_ error: APIError, requestID: String) -> Response {
        (try? make(error.status, ErrorBody(error: error, requestID: requestID)))
            ?? Response(status: .internalServerError)
    }
}
