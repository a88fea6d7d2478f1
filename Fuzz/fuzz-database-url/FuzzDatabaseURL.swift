import StrataSQL

/// One libFuzzer input: any bytes as a database URL, with a known password put where
/// the input has a byte 0x01.
///
/// Besides not crashing or hanging: the password never shows, neither in the error of a
/// URL that does not parse, whatever its shape, nor in the `description` of one that
/// does (which must not change when only the password does).
func fuzz(_ bytes: UnsafeBufferPointer<UInt8>) -> CInt {
    let text = String(decoding: bytes, as: UTF8.self)
    let input = text.replacingAll("\u{1}", with: secret)
    do {
        let url = try DatabaseURL(input)
        // The description may say that there is a password, never what it is.
        var other = url
        other.password = url.password.map { $0 == "x" ? "y" : "x" }
        require(url.description == other.description, "the password shows in \(url.description)")
    } catch {
        // The password stands between a `:` (not the scheme's `://`) and the last `@`
        // ahead of the query string, whatever else the URL looks like. Where the same
        // text also comes after that `@` (as a host or a database name), it may show.
        let beforeQuery = input.prefix { $0 != "?" }
        if let at = beforeQuery.lastIndex(of: "@"), !input[at...].contains(secret) {
            let userInfo = beforeQuery[..<at]
            if let found = userInfo.range(of: secret), let colon = userInfo[..<found.lowerBound].lastIndex(of: ":"),
               !userInfo[userInfo.index(after: colon)...].hasPrefix("/") {
                require(!"\(error)".contains(secret), "the password shows in the error: \(error)")
            }
        }
    }
    return 0
}

private let secret = "Pw9hunter2Zq"

private func require(_ condition: Bool, _ message: @autoclosure () -> String) {
    if !condition { fatalError("invariant broken: \(message())") }
}

extension String {
    fileprivate func replacingAll(_ target: Character, with replacement: String) -> String {
        var out = ""
        for c in self { if c == target { out += replacement } else { out.append(c) } }
        return out
    }
}
