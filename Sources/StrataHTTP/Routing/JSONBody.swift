import Foundation
import Hummingbird

/// Reads request bodies: content type first, then the size limit, then strict JSON.
///
/// The order gives each failure its own answer: `415` for a body that is not declared
/// JSON, `413` for one past the limit (refused on its `Content-Length` before reading,
/// or as soon as the stream passes the limit), `400` for malformed JSON, a member the
/// request does not know, or a member of the wrong type.
enum JSONBody {
    /// The body's bytes, at most `limit`.
    static func bytes(of request: Request, limit: Int) async throws -> ByteBuffer {
        if let length = request.headers[.contentLength].flatMap(Int.init), length > limit {
            throw tooLarge(limit)
        }
        do {
            return try await request.body.collect(upTo: limit)
        } catch let error as any HTTPResponseError where error.status == .contentTooLarge {
            throw tooLarge(limit)
        } catch {
            // The stream broke off: the client left, or RequestReadDeadlineHandler closed a
            // connection whose body took too long (and answered 408 itself).
            throw APIError(.requestTimeout, "REQUEST_TIMEOUT", "the request body did not arrive whole")
        }
    }

    /// Whether the request declares a JSON body (`application/json`, any parameters).
    ///
    /// Compared on the bytes: Foundation's trimming bridges through `NSString`, which
    /// cost about 2% of a charge's CPU in `strata serve` (perf, `scripts/bench http`).
    static func requireJSONContentType(_ request: Request) throws {
        let declared = (request.headers[.contentType] ?? "").utf8
        var mediaType = declared.prefix { $0 != UInt8(ascii: ";") }[...]
        while let c = mediaType.first, c == UInt8(ascii: " ") || c == UInt8(ascii: "\t") { mediaType.removeFirst() }
        while let c = mediaType.last, c == UInt8(ascii: " ") || c == UInt8(ascii: "\t") { mediaType.removeLast() }
        let expected = "application/json".utf8
        guard mediaType.count == expected.count, zip(mediaType, expected).allSatisfy({ asciiLowercased($0) == $1 }) else {
            throw APIError(.unsupportedMediaType, "UNSUPPORTED_MEDIA_TYPE",
                           "the body must be JSON, sent with Content-Type: application/json")
        }
    }

    /// The request's JSON body decoded as `T`, refusing members `T` does not know.
    ///
    /// One parse: ``StrictBody`` reads the object's member names and then `T` from the
    /// same decoded document.
    static func decode<T: StrictJSONRequest>(_ type: T.Type, from request: Request) async throws -> T {
        try requireJSONContentType(request)
        let buffer = try await bytes(of: request, limit: BodyLimits.json)
        if let value = buffer.withUnsafeReadableBytes({ PlainStringObject.read($0).flatMap(T.init(plainStrings:)) }) {
            return value
        }
        let data = Data(buffer.readableBytesView)
        do {
            return try decoder.decode(StrictBody<T>.self, from: data).value
        } catch let error as UnknownMembers {
            throw APIError.badRequest("UNKNOWN_FIELD", "unknown member\(error.names.count == 1 ? "" : "s"): "
                                      + error.names.map { "'\(String($0.prefix(64)))'" }.joined(separator: ", "))
        } catch let DecodingError.dataCorrupted(context)
                    where context.codingPath.isEmpty && (try? JSONSerialization.jsonObject(with: data, options: .fragmentsAllowed)) == nil {
            // Only on this error path is the body parsed a second time: a number that does
            // not fit its member is reported without a coding path too.
            throw APIError.badRequest("INVALID_JSON", "the body is not valid JSON")
        } catch let DecodingError.typeMismatch(_, context) where context.codingPath.isEmpty {
            throw APIError.badRequest("INVALID_JSON", "the body must be a JSON object")
        } catch let DecodingError.valueNotFound(_, context) where context.codingPath.isEmpty {
            throw APIError.badRequest("INVALID_JSON", "the body must be a JSON object")
        } catch let DecodingError.keyNotFound(key, _) {
            throw APIError.badRequest("INVALID_REQUEST", "missing member '\(key.stringValue)'")
        } catch let DecodingError.typeMismatch(_, context), let DecodingError.valueNotFound(_, context) {
            throw APIError.badRequest("INVALID_REQUEST", "member '\(path(context))' has the wrong type")
        } catch let DecodingError.dataCorrupted(context) where !context.codingPath.isEmpty {
            throw APIError.badRequest("INVALID_REQUEST", "member '\(path(context))' is out of range or malformed")
        } catch DecodingError.dataCorrupted {
            throw APIError.badRequest("INVALID_REQUEST", "a member is out of range or malformed")
        } catch {
            throw APIError.badRequest("INVALID_REQUEST", "the body does not match the request")
        }
    }

    private static func asciiLowercased(_ byte: UInt8) -> UInt8 {
        (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte) ? byte + 32 : byte
    }

    /// Shared: decoding keeps no state between calls.
    private static let decoder = JSONDecoder()

    private static func path(_ context: DecodingError.Context) -> String {
        context.codingPath.map(\.stringValue).joined(separator: ".")
    }

    private static func tooLarge(_ limit: Int) -> APIError {
        APIError(.contentTooLarge, "PAYLOAD_TOO_LARGE", "the request body is larger than \(limit) bytes")
    }
}

/// A request object whose member names are checked against `T`'s before `T` is decoded.
private struct StrictBody<T: StrictJSONRequest>: Decodable {
    var value: T

    init(from decoder: any Decoder) throws {
        // Each name is looked up in `T`'s coding keys (a switch), no set built per request.
        let unknown = try decoder.container(keyedBy: MemberName.self).allKeys.map(\.stringValue)
            .filter { T.CodingKeys(stringValue: $0) == nil }
        guard unknown.isEmpty else { throw UnknownMembers(names: Set(unknown).sorted()) }
        value = try T(from: decoder)
    }
}

/// Any member name of a JSON object.
private struct MemberName: CodingKey {
    var stringValue: String
    var intValue: Int? { nil }
    init(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) { nil }
}

/// Members of a request object that its type does not know.
private struct UnknownMembers: Error {
    var names: [String]
}
