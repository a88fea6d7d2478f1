import Foundation
import StrataBilling
import StrataSQL
import Testing

@Suite("Audit details JSON")
struct AuditJSONTests {
    private func parsed(_ json: SQLJSON) throws -> NSDictionary {
        try #require(JSONSerialization.jsonObject(with: Data(json.text.utf8)) as? NSDictionary)
    }

    @Test func flatDetailsAreSortedAndEscaped() throws {
        let details: [String: any Sendable] = [
            "reason": "a \"quoted\" \\ back\nslash\ttab\u{01}\u{1F} — Grüße 🚀 </script>",
            "amount": -40, "balance_after": Int64.max, "replay": false, "ok": true, "empty": "",
        ]
        let json = try SQLJSON(jsonObject: details)
        #expect(json.text.hasPrefix(#"{"amount":-40,"balance_after":9223372036854775807,"empty":"","ok":true,"#))
        let back = try parsed(json)
        #expect(back["reason"] as? String == details["reason"] as? String)
        #expect((back["amount"] as? NSNumber)?.int64Value == -40)
        #expect((back["balance_after"] as? NSNumber)?.int64Value == Int64.max)
        #expect(back["replay"] as? Bool == false)
        #expect(back["ok"] as? Bool == true)
        #expect(back.count == details.count)
    }

    @Test func randomStringsRoundTrip() throws {
        let alphabet = Array("aZ09\"\\/\n\r\t\u{00}\u{08}\u{0C}\u{1B}é世🚀 ")
        for _ in 0..<500 {
            let value = String((0..<Int.random(in: 0...24)).map { _ in alphabet.randomElement()! })
            let key = String((0..<Int.random(in: 1...6)).map { _ in alphabet.randomElement()! })
            let json = try SQLJSON(jsonObject: [key: value, "n": 1])
            let back = try parsed(json)
            #expect(back[key] as? String == value, "\(json.text)")
        }
    }

    @Test func nestedValuesFallBackToJSONSerialization() throws {
        let json = try SQLJSON(jsonObject: ["list": [1, 2], "null": NSNull(), "x": 1.5])
        let back = try parsed(json)
        #expect((back["list"] as? [Int]) == [1, 2])
        #expect(back["null"] is NSNull)
        #expect((back["x"] as? NSNumber)?.doubleValue == 1.5)
    }
}
