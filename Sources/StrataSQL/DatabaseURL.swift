import Foundation

/// A parsed database URL: `scheme://user:password@host:port/database?params`.
///
/// User and password are percent-decoded. The query string may carry `sslmode`,
/// `connect_timeout` (seconds, default 5) and a unix socket through `host=` or `socket=`.
/// `description` never shows the password.
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
    ///   contains the password.
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
            throw DatabaseError(.invalidURL, message: "unknown database URL scheme '\(scheme)': use postgres://, postgresql://, mysql:// or mariadb://")
        }
        self.scheme = scheme
        var rest = trimmed[schemeEnd.upperBound...]

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
        var hostPart = Substring(rest)
        if let at = rest.lastIndex(of: "@") {
            let userInfo = rest[..<at]
            hostPart = rest[rest.index(after: at)...]
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
                throw DatabaseError(.invalidURL, message: "invalid port '\(portString)' in database URL: expected 1-65535")
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
            switch key {
            case "sslmode", "ssl-mode": sslMode = value
            case "connect_timeout":
                guard let t = Int(value), t > 0, t <= 3600 else {
                    throw DatabaseError(.invalidURL, message: "invalid connect_timeout '\(value)' in database URL: expected seconds, 1-3600")
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
            throw DatabaseError(.invalidURL, message: "invalid database name '\(database)' in database URL")
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

    private static func decode(_ s: Substring, what: String) throws -> String {
        guard let decoded = String(s).removingPercentEncoding else {
            throw DatabaseError(.invalidURL, message: "invalid percent-encoding in the \(what) of the database URL")
        }
        return decoded
    }

    private static func encode(_ s: String) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        return s.addingPercentEncoding(withAllowedCharacters: allowed) ?? s
    }

    /// Masks whatever sits between `user:` and `@` in a string that failed to parse.
    static func redact(_ s: String) -> String {
        guard let schemeEnd = s.range(of: "://"),
              let at = s[schemeEnd.upperBound...].lastIndex(of: "@") else { return s }
        let userInfo = s[schemeEnd.upperBound..<at]
        guard let colon = userInfo.firstIndex(of: ":") else { return s }
        return String(s[..<colon]) + ":***" + String(s[at...])
    }
}
