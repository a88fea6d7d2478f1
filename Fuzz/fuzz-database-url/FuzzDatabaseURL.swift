import StrataSQL

/// One libFuzzer input: any bytes as a database URL, with a known password put where
/// the input has a byte 0x01.
///
/// Besides not crashing or hanging: the password never shows, neither in the error of a
/// URL that does not parse, whatever its shape (the password being whatever comes
/// before the last `@` ahead of the query string), nor in the `description` of one that
/// does (unless the parser put it in a field that is shown, such as the host).
func fuzz(_ bytes: UnsafeBufferPointer<UInt8>) -> CInt {
    let text = String(decoding: bytes, as: UTF8.self)
    let input = text.replacingAll("\u{1}", with: secret)
    do {
        let url = try DatabaseURL(input)
        let shown = [url.user ?? "", url.host, url.database, url.socket ?? "", url.sslMode ?? "", url.scheme]
            + url.parameters.flatMap { [$0.0, $0.1] }
        if !shown.contains(where: { $0.contains(secret) }) {
            require(!url.description.contains(secret), "the password shows in \(url.description)")
        }
        if let password = url.password, password.count >= 4, !shown.contains(where: { $0.contains(password) }) {
            require(!url.description.contains(password), "the password '\(password)' shows in \(url.description)")
        }
    } catch {
        let beforeQuery = input.prefix { $0 != "?" }
        // (Where it also comes after that `@`, as a host or a database name, it may show.)
        if let at = beforeQuery.lastIndex(of: "@"), beforeQuery[..<at].contains(secret), !input[at...].contains(secret) {
            require(!"\(error)".contains(secret), "the password shows in the error: \(error)")
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
