import Hummingbird

/// The API's contract: the OpenAPI 3.1 document `Sources/StrataHTTP/openapi.json`,
/// compiled into the binary and served verbatim at `GET /openapi.json`.
///
/// The document is written by hand and is the single source of truth for every route,
/// body, header and error the API answers. It cannot drift from the code unnoticed: a
/// test compares the router's routes with the document's operations both ways, and
/// `scripts/contract` checks every answer of a live server against it on both backends.
///
/// ```swift
/// let document = try JSONSerialization.jsonObject(with: Data(OpenAPIDocument.bytes))
/// ```
public enum OpenAPIDocument {
    /// The document's bytes, exactly as committed.
    public static var bytes: [UInt8] { PackageResources.openapi_json }

    /// `GET /openapi.json`: the document, `application/json`.
    static func response() -> Response {
        Response(status: .ok, headers: [.contentType: "application/json"],
                 body: ResponseBody(byteBuffer: ByteBuffer(bytes: bytes)))
    }
}
