import Foundation
import StrataBilling
@testable import StrataHTTP
import StrataSQL
import Testing

/// The bodies that write their own JSON write exactly what `JSONEncoder` (the API's
/// encoder for every other body) would: same members, same order, same escapes.
struct JSONWriterTests {
    /// Every character that JSON escapes or could trip an escape, and some that it does not.
    static let awkward: [String] = [
        "", "plain", "run-42", "a/b", "quote\"d", "back\\slash", "tab\tnew\nline\rcr", "\u{8}\u{C}",
        String((0..<0x20).map { Character(Unicode.Scalar(UInt8($0))) }), "\u{7F}", "é ü ß", "日本語", "🧾 emoji",
        "\u{2028}\u{2029}", "</script>",
    ]

    static func transaction(_ text: String?, number: Int64, optionals: Bool) -> WalletTransaction {
        WalletTransaction(
            id: number, walletID: 7, customer: "c", sequence: number &* 3, kind: .charge, amount: 0 &- number,
            balanceAfter: Int64.max &- number, agentKey: optionals ? text : nil, costPerRun: optionals ? number : nil,
            runID: optionals ? text : nil, idempotencyKey: text, externalReference: optionals ? text : nil,
            refundedTransactionID: optionals ? Int64.min : nil, actor: "a", reason: optionals ? text : nil,
            createdAt: SQLTimestamp(microsecondsSinceEpoch: 1_764_825_000_123_456 + number % 1_000_000))
    }

    static func encoded(_ value: some Encodable) throws -> String {
        String(decoding: try JSONResponse.encoder.encode(value), as: UTF8.self)
    }

    @Test(arguments: awkward)
    func aChargeBodyIsWhatTheEncoderWrites(_ text: String) throws {
        for (number, optionals, replay) in [(Int64(0), true, false), (1, false, true), (-5, true, true), (Int64.max, false, false)] {
            let body = ChargeBody(WalletReceipt(transaction: Self.transaction(text, number: number, optionals: optionals),
                                                isReplay: replay))
            let written = String(decoding: JSONWriter.document(body), as: UTF8.self)
            #expect(written == (try Self.encoded(body)))
        }
    }

    @Test
    func everyCodeUnitBelowDELIsEscapedAsTheEncoderDoes() throws {
        for scalar in (0...0x7F).compactMap(Unicode.Scalar.init) {
            let text = "x\(Character(scalar))y"
            let body = TransactionBody(Self.transaction(text, number: 1, optionals: true))
            #expect(String(decoding: JSONWriter.document(body), as: UTF8.self) == (try Self.encoded(body)),
                    "U+\(String(scalar.value, radix: 16))")
        }
    }

    @Test
    func theWrittenDocumentParsesBackToTheSameValues() throws {
        let body = ChargeBody(WalletReceipt(transaction: Self.transaction("q\"\\\n", number: 42, optionals: true), isReplay: false))
        let parsed = try #require(try JSONSerialization.jsonObject(with: Data(JSONWriter.document(body))) as? [String: Any])
        #expect(parsed["balance_credits"] as? Int64 == Int64.max - 42)
        #expect(parsed["replay"] as? Bool == false)
        let transaction = try #require(parsed["transaction"] as? [String: Any])
        #expect(transaction["run_id"] as? String == "q\"\\\n")
        #expect(transaction["refunded_transaction_id"] as? Int64 == Int64.min)
        #expect(transaction["created_at"] as? String == body.transaction.createdAt)
    }
}

/// The fast path that reads `{"agent": …, "run_id": …}` accepts only what `JSONDecoder`
/// reads the same way, and leaves everything else (and every refusal) to it.
struct PlainStringObjectTests {
    static func fast(_ text: [UInt8]) -> ChargeRequest? {
        text.withUnsafeBytes { PlainStringObject.read($0).flatMap(ChargeRequest.init(plainStrings:)) }
    }

    static func decoded(_ text: [UInt8]) -> ChargeRequest? {
        try? JSONDecoder().decode(ChargeRequest.self, from: Data(text))
    }

    @Test(arguments: [
        #"{"agent":"code_reviewer","run_id":"run-42"}"#,
        " {\n\t\"run_id\" : \"r/1\" ,\r\n \"agent\":\"a b\" } ",
        #"{"agent":"日本語 🧾","run_id":"</script>"}"#,
        #"{"agent":"","run_id":""}"#,
    ])
    func aPlainBodyReadsAsTheDecoderReadsIt(_ text: String) throws {
        let fast = try #require(Self.fast(Array(text.utf8)))
        let decoded = try #require(Self.decoded(Array(text.utf8)))
        #expect(fast.agent == decoded.agent && fast.runID == decoded.runID)
    }

    @Test(arguments: [
        #"{"agent":"a\"b","run_id":"r"}"#,          // an escape: the decoder's to read
        #"{"agent":"a\u0041","run_id":"r"}"#,
        #"{"agent":"a","run_id":"r","extra":"x"}"#, // unknown member: the decoder names it
        #"{"agent":"a"}"#,                          // missing member
        #"{"agent":"a","agent":"b","run_id":"r"}"#, // a member twice
        #"{"agent":1,"run_id":"r"}"#,               // not a string
        #"{"agent":"a","run_id":"r"} x"#,           // trailing bytes
        #"{"agent":"a" "run_id":"r"}"#,             // no comma
        #"{"agent":"a","run_id":"r",}"#,            // trailing comma
        #"["agent","run_id"]"#, "", "{", "\u{FEFF}{\"agent\":\"a\",\"run_id\":\"r\"}",
        "{\"agent\":\"a\tb\",\"run_id\":\"r\"}",    // a raw control character
    ])
    func anythingElseGoesToTheDecoder(_ text: String) {
        #expect(Self.fast(Array(text.utf8)) == nil)
    }

    @Test
    func invalidUTF8GoesToTheDecoder() {
        for bad: [UInt8] in [[0xFF], [0xC3], [0xED, 0xA0, 0x80], [0xC0, 0xAF]] {
            let text = Array(#"{"agent":""#.utf8) + bad + Array(#"","run_id":"r"}"#.utf8)
            #expect(Self.fast(text) == nil)
            #expect(Self.decoded(text) == nil)
        }
    }

    /// Random bodies: members in either order, random blanks, values from an alphabet
    /// with quotes, backslashes, control and non-ASCII characters, then up to two bytes
    /// changed, dropped or added. Whenever the fast path reads one, the decoder reads the
    /// same request from it.
    @Test
    func theFastPathNeverDisagreesWithTheDecoder() {
        var generator = SystemRandomNumberGenerator()
        let blanks: [[UInt8]] = [[], [0x20], [0x09], [0x0A, 0x20], [0x0D, 0x0A], [0x0C]]
        let pieces: [[UInt8]] = ["a", "Z", "-", "/", "\"", "\\", "\\u0041", "\t", "é", "🧾", "\u{7F}", ":", ",", "{", "}"]
            .map { Array($0.utf8) }
        let structural = Array(#"{}[]:,"\ a1"#.utf8) + [0x00, 0x1F, 0xC3, 0xFF]
        func blank() -> [UInt8] { blanks.randomElement(using: &generator)! }
        func string() -> [UInt8] {
            [0x22] + (0..<Int.random(in: 0...4, using: &generator)).flatMap { _ in pieces.randomElement(using: &generator)! } + [0x22]
        }
        var agreed = 0
        for _ in 0..<20_000 {
            var members = [Array(#""agent""#.utf8), Array(#""run_id""#.utf8)].map { blank() + $0 + blank() + [0x3A] + blank() + string() + blank() }
            if Bool.random(using: &generator) { members.reverse() }
            var text = blank() + [0x7B] + members[0] + [0x2C] + members[1] + [0x7D] + blank()
            for _ in 0..<Int.random(in: 0...2, using: &generator) {
                let at = Int.random(in: 0..<text.count, using: &generator)
                switch Int.random(in: 0...3, using: &generator) {
                case 0: text[at] = structural.randomElement(using: &generator)!
                case 1: text.remove(at: at)
                case 2: text.insert(structural.randomElement(using: &generator)!, at: at)
                default: break
                }
            }
            guard let fast = Self.fast(text) else { continue }
            let decoded = Self.decoded(text)
            #expect(decoded?.agent == fast.agent && decoded?.runID == fast.runID, "\(String(decoding: text, as: UTF8.self))")
            agreed += 1
        }
        // Most bodies stay plain: the comparison ran, not only the refusals.
        #expect(agreed > 200)
    }
}
