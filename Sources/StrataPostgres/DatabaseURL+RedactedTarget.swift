import StrataSQL

extension DatabaseURL {
    /// `host:port/database` (or the socket), for messages: never the user's password.
    var redactedTarget: String {
        if let socket { return "\(socket)/\(database)" }
        return "\(host):\(effectivePort)/\(database)"
    }
}
