import StrataBilling
import StrataSQL

/// One libFuzzer input: the input is a signature header and a payload, split at the
/// first byte 0x00 (the payload is empty when there is none).
///
/// Besides not crashing or hanging: a header is accepted only when it carries the real
/// signature of that payload at a time within the tolerance, the error never shows the
/// secret, and the header `sign` makes for the payload is always accepted.
func fuzz(_ bytes: UnsafeBufferPointer<UInt8>) -> CInt {
    let bytes = bytes
    let split = bytes.firstIndex(of: 0) ?? bytes.endIndex
    let header = String(decoding: bytes[..<split], as: UTF8.self)
    let payload = split < bytes.endIndex ? String(decoding: bytes[(split + 1)...], as: UTF8.self) : ""

    let signature = WebhookSignature(secret: secret)
    do {
        let signedAt = try signature.verify(payload: payload, header: header, now: now)
        let seconds = signedAt.microsecondsSinceEpoch / 1_000_000
        require(abs(seconds - now.microsecondsSinceEpoch / 1_000_000) <= Int64(WebhookSignature.defaultTolerance),
                "accepted a timestamp \(seconds) outside the tolerance")
        let genuine = WebhookSignature.sign(payload: payload, secret: secret, at: signedAt)
        let mac = String(genuine.split(separator: "v1=").last ?? "")
        require(header.lowercased().contains(mac), "accepted a header without the payload's signature: \(header)")
    } catch {
        require(!"\(error)".contains(secret), "the secret shows in the error: \(error)")
    }

    let genuine = WebhookSignature.sign(payload: payload, secret: secret, at: now)
    do {
        try signature.verify(payload: payload, header: genuine, now: now)
    } catch {
        require(false, "refused its own signature \(genuine): \(error)")
    }
    return 0
}

private let secret = "whsec_fuzz_5ecret"
private let now = SQLTimestamp(microsecondsSinceEpoch: 1_780_000_000_000_000)

private func require(_ condition: Bool, _ message: @autoclosure () -> String) {
    if !condition { fatalError("invariant broken: \(message())") }
}
