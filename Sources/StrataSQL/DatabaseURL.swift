import Foundation

/// A parsed database URL: `scheme://user:password@host:port/database?params`.
///
/// User and password are percent-decoded; a percent-encoded NUL is refused, as the C
/// libraries would cut the value short there. The query string may carry `sslmode`,
/// `connect_timeout` (seconds, default 5), a unix socket through `host=` or `socket=`, and
/// the backend's other ``acceptedParameters(for:)``; any other parameter is refused by
/// name. `description` never shows the password, and no error shows it either, whatever
/// the string's shape (see ``redact(_:)``).
///
/// ```swift
/// let url = try DatabaseURL("postgres://app:s%40cret@127.0.0.1:5432/billing?sslmode=disable")
/// print(url)   // postgres://app:***@127.0.0.1:5432/billing?sslmode=disable
/// ```
public struct DatabaseURL: Sendable, Hashable, CustomStringConvertible {
    /// The backend named by the scheme.
    public enum Backend: String, Sendable, Hashable, CaseIterable {
        case postgres
        case mysql
    }

    public var backend: Backend
    public var scheme: String
    public var user: String?
    public var password: String?
    public var host: String
    public var port: Int?
    public var database: String
    /// Query parameters other than the ones given their own property, in URL order.
    public var parameters: [(String, String)] {
        get { parameterStorage.map { ($0.key, $0.value) } }
        set { parameterStorage = newValue.map { Parameter(key: $0.0, value: $0.1) } }
    }
    public var sslMode: String?
    /// Seconds to wait for a connection before giving up.
    public var connectTimeout: Int
    /// A unix socket path, when the URL names one.
    public var socket: String?

    private var parameterStorage: [Parameter]

    private struct Parameter: Sendable, Hashable {
        var key: String
        var value: String
    }

    /// Parses a URL string.
    ///
    /// - Throws: ``DatabaseError`` of category `.invalidURL` with a message that never
    ///   contains the password, nor anything that could be it.
    public init(_ string: String) throws {
        let trimmed = string.trimmingCharacters(in: .whitespacesAndNewlines)
        guard let schemeEnd = trimmed.range(of: "://") else {
            throw DatabaseError(.invalidURL, message: "invalid database URL \(Self.redact(trimmed)): expected scheme://user:password@host:port/database")
        }
        let scheme = trimmed[..<schemeEnd.lowerBound].lowercased()
        switch scheme {
        case "postgres", "postgresql": backend = .postgres
        case "mysql", "mariadb": backend = .mysql
        default:
            let shown = Self.isSchemeName(scheme) ? " '\(scheme)'" : ""
            throw DatabaseError(.invalidURL, message: "unknown database URL scheme\(shown): use postgres://, postgresql://, mysql:// or mariadb://")
        }
        self.scheme = scheme
        let (userInfo, afterUserInfo) = Self.splitUserInfo(trimmed[schemeEnd.upperBound...])
        var rest = afterUserInfo

        var query = ""
        if let q = rest.firstIndex(of: "?") {
            query = String(rest[rest.index(after: q)...])
            rest = rest[..<q]
        }
        var path = ""
        if let slash = rest.firstIndex(of: "/") {
            path = String(rest[rest.index(after: slash)...])
            rest = rest[..<slash]
        }
        let hostPart = rest
        if let userInfo {
            if let colon = userInfo.firstIndex(of: ":") {
                user = try Self.decode(userInfo[..<colon], what: "user")
                password = try Self.decode(userInfo[userInfo.index(after: colon)...], what: "password")
            } else {
                user = try Self.decode(userInfo, what: "user")
            }
        }
        // Host, optionally with a port; IPv6 literals come in brackets.
        var hostString = ""
        var portString: Substring?
        if hostPart.hasPrefix("[") {
            guard let close = hostPart.firstIndex(of: "]") else {
                throw DatabaseError(.invalidURL, message: "invalid database URL: unterminated IPv6 address")
            }
            hostString = String(hostPart[hostPart.index(after: hostPart.startIndex)..<close])
            let after = hostPart[hostPart.index(after: close)...]
            if after.hasPrefix(":") { portString = after.dropFirst() }
        } else if let colon = hostPart.lastIndex(of: ":") {
            hostString = String(hostPart[..<colon])
            portString = hostPart[hostPart.index(after: colon)...]
        } else {
            hostString = String(hostPart)
        }
        host = try Self.decode(Substring(hostString), what: "host")
        if let portString {
            guard let p = Int(portString), (1...65535).contains(p) else {
                // Only digits are echoed: anything else may be a password typed in the wrong place.
                let shown = portString.allSatisfy(\.isASCII) && portString.allSatisfy(\.isNumber) && portString.count <= 20 ? " '\(portString)'" : ""
                throw DatabaseError(.invalidURL, message: "invalid port\(shown) in database URL \(Self.redact(trimmed)): expected 1-65535")
            }
            port = p
        }
        database = try Self.decode(Substring(path), what: "database name")
        connectTimeout = 5
        parameterStorage = []
        for pair in query.split(separator: "&", omittingEmptySubsequences: true) {
            let kv = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let key = try Self.decode(kv[0], what: "parameter")
            let value = kv.count > 1 ? try Self.decode(kv[1], what: "parameter") : ""
            guard Self.acceptedParameters(for: backend).contains(key) else {
                // Named when it is spelled like a parameter: anything else may be a misplaced secret.
                let named = key.count <= 40 && key.utf8.allSatisfy { (97...122).contains($0) || (48...57).contains($0) || $0 == 95 || $0 == 45 }
                throw DatabaseError(.invalidURL, message: "unknown parameter\(named ? " '\(key)'" : "") in \(backend.rawValue) database URL: accepted are \(Self.acceptedParameters(for: backend).sorted().joined(separator: ", "))")
            }
            switch key {
            case "sslmode", "ssl-mode": sslMode = value
            case "connect_timeout":
                guard let t = Int(value), t > 0, t <= 3600 else {
                    let shown = value.count <= 20 && value.utf8.allSatisfy { (48...57).contains($0) || $0 == 45 } ? " '\(value)'" : ""
                    throw DatabaseError(.invalidURL, message: "invalid connect_timeout\(shown) in database URL: expected seconds, 1-3600")
                }
                connectTimeout = t
            case "host", "socket":
                if value.hasPrefix("/") { socket = value } else { host = value }
            default:
                parameterStorage.append(Parameter(key: key, value: value))
            }
        }
        if host.isEmpty && socket == nil {
            if hostString.isEmpty && !hostPart.isEmpty {
                throw DatabaseError(.invalidURL, message: "invalid database URL \(Self.redact(trimmed)): missing host")
            }
            host = "localhost"
        }
        if host.hasPrefix("/") {
            socket = host
            host = "localhost"
        }
        guard !database.isEmpty else {
            throw DatabaseError(.invalidURL, message: "invalid database URL \(Self.redact(trimmed)): missing database name after the host")
        }
        guard !database.contains("/") else {
            throw DatabaseError(.invalidURL, message: "invalid database name in database URL \(Self.redact(trimmed)): a name holds no '/'")
        }
    }

    /// The port to use: the URL's, or the backend's default.
    public var effectivePort: Int {
        port ?? (backend == .postgres ? 5432 : 3306)
    }

    /// The URL with the password replaced by `***`.
    public var description: String {
        var s = "\(scheme)://"
        if let user {
            s += Self.encode(user)
            if password != nil { s += ":***" }
            s += "@"
        }
        s += host.contains(":") ? "[\(host)]" : host
        if let port { s += ":\(port)" }
        s += "/\(Self.encode(database))"
        var query: [String] = []
        if let sslMode { query.append("sslmode=\(sslMode)") }
        if connectTimeout != 5 { query.append("connect_timeout=\(connectTimeout)") }
        if let socket { query.append("socket=\(socket)") }
        query += parameterStorage.map { "\($0.key)=\($0.value)" }
        if !query.isEmpty { s += "?" + query.joined(separator: "&") }
        return s
    }

    /// The same URL pointing at another database on the same server.
    public func withDatabase(_ name: String) -> DatabaseURL {
        var copy = self
        copy.database = name
        return copy
    }

    public static func == (a: DatabaseURL, b: DatabaseURL) -> Bool {
        a.backend == b.backend && a.user == b.user && a.password == b.password && a.host == b.host
            && a.port == b.port && a.database == b.database && a.sslMode == b.sslMode
            && a.connectTimeout == b.connectTimeout && a.socket == b.socket
            && a.parameterStorage == b.parameterStorage
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(backend); hasher.combine(host); hasher.combine(port); hasher.combine(database)
    }

    /// The query parameters a backend's URL may carry; any other is refused by name.
    ///
    /// PostgreSQL's are handed to libpq as they are (besides Strata's own `statement_cache`
    /// and `pooler=transaction|none`, which declares a transaction pooler in front);
    /// libpq keywords that would override what Strata sets, or carry a secret, are not among them.
    public static func acceptedParameters(for backend: Backend) -> Set<String> {
        switch backend {
        case .postgres:
            ["sslmode", "ssl-mode", "connect_timeout", "host", "socket", "statement_cache", "pooler",
             "sslrootcert", "sslcert", "sslkey", "sslcrl", "application_name", "target_session_attrs",
             "keepalives", "keepalives_idle", "keepalives_interval", "keepalives_count", "tcp_user_timeout"]
        case .mysql:
            ["sslmode", "ssl-mode", "connect_timeout", "host", "socket", "sslrootcert", "ssl-ca", "sslca"]
        }
    }

    /// Splits what follows `scheme://` at the `@` that ends the user info, if any.
    ///
    /// The last `@` before the query wins, so a password with an unencoded `/`, `@` or `:`
    /// still ends up whole in the password (and hidden), never in the host or path; when
    /// the part before the query has none, the last `@` anywhere (a `?` in the password).
    private static func splitUserInfo(_ s: Substring) -> (userInfo: Substring?, rest: Substring) {
        let beforeQuery = s[..<(s.firstIndex(of: "?") ?? s.endIndex)]
        guard let at = beforeQuery.lastIndex(of: "@") ?? s.lastIndex(of: "@") else { return (nil, s) }
        return (s[..<at], s[s.index(after: at)...])
    }

    private static func decode(_ s: Substring, what: String) throws -> String {
        guard let decoded = String(s).removingPercentEncoding else {
            throw DatabaseError(.invalidURL, message: "invalid percent-encoding in the \(what) of the database URL")
        }
        // The C libraries read a NUL as the end of the string: the value would be cut short.
        guard !decoded.contains("\0") else {
            throw DatabaseError(.invalidURL, message: "a NUL character (%00) in the \(what) of the database URL")
        }
        return decoded
    }

    private static func encode(_ s: String) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        return s.addingPercentEncoding(withAllowedCharacters: allowed) ?? s
    }

    /// Whether `s` is spelled like a URL scheme (`[a-z][a-z0-9+.-]*`), so it can be shown.
    private static func isSchemeName(_ s: some StringProtocol) -> Bool {
        guard let first = s.utf8.first, (97...122).contains(first) || (65...90).contains(first), s.utf8.count <= 20 else { return false }
        return s.utf8.allSatisfy { (97...122).contains($0) || (65...90).contains($0) || (48...57).contains($0) || $0 == 43 || $0 == 45 || $0 == 46 }
    }

    /// A URL string that may hold a password, reduced to what cannot be one: the scheme,
    /// the user, the host and a numeric port, and the database name.
    ///
    /// Works on any string, including ones that failed to parse (no `//`, `:` and `@` in
    /// odd places). The password, anything that might be one, and the query string (which
    /// may carry secrets of its own) are replaced by `***`.
    ///
    /// ```swift
    /// DatabaseURL.redact("postgres://app:s3cr3t@db:5432/billing?sslmode=require")  // postgres://app:***@db:5432/billing?***
    /// DatabaseURL.redact("postgres:s3cr3t@db/billing")                            // postgres:***@db
    /// ```
    public static func redact(_ s: String) -> String {
        guard let schemeEnd = s.range(of: "://"), isSchemeName(s[..<schemeEnd.lowerBound]) else {
            // No recognisable shape: at most a leading scheme word and the host after the last `@`.
            let word = s.prefix { $0.isASCII && ($0.isLetter || $0.isNumber || "+.-".contains($0)) }
            let scheme = isSchemeName(word) && s.dropFirst(word.count).first.map({ ":/".contains($0) }) == true ? "\(word):" : ""
            let host = s.lastIndex(of: "@").map { redactedHost(s[s.index(after: $0)...]) } ?? ""
            return "\(scheme)***" + (host.isEmpty ? "" : "@\(host)")
        }
        let (userInfo, afterUserInfo) = splitUserInfo(s[schemeEnd.upperBound...])
        var out = String(s[..<schemeEnd.upperBound])
        if let userInfo {
            // Whatever follows the first `:` is the password; without one it is all a user name.
            if let colon = userInfo.firstIndex(of: ":") { out += userInfo[..<colon] + ":***@" }
            else { out += userInfo + "@" }
        }
        let query = afterUserInfo.firstIndex(of: "?")
        let beforeQuery = afterUserInfo[..<(query ?? afterUserInfo.endIndex)]
        out += redactedHost(beforeQuery)
        if let slash = beforeQuery.firstIndex(of: "/") { out += beforeQuery[slash...] }
        if query != nil { out += "?***" }
        return out
    }

    /// The host of a `host:port/…` string and its port when it is a number: nothing that follows.
    private static func redactedHost(_ s: Substring) -> String {
        let end = s.firstIndex { "/?#".contains($0) } ?? s.endIndex
        let hostPort = s[..<end]
        if hostPort.hasPrefix("["), let close = hostPort.firstIndex(of: "]") {
            let port = hostPort[hostPort.index(after: close)...]
            return String(hostPort[...close]) + (port.dropFirst().allSatisfy(\.isNumber) && port.hasPrefix(":") ? String(port) : "")
        }
        guard let colon = hostPort.firstIndex(of: ":") else { return String(hostPort) }
        let port = hostPort[hostPort.index(after: colon)...]
        return String(hostPort[..<colon]) + (!port.isEmpty && port.allSatisfy { $0.isASCII && $0.isNumber } ? ":\(port)" : "")
    }
}
