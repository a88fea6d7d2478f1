internal import CMariaDB
import Foundation
import StrataSQL

/// Where and how to open a libmariadb handle: what a connection and its canceller share.
struct MySQLEndpoint: Sendable {
    enum TLS: Sendable {
        /// Whatever the library does without certificates (Connector/C 3.3: no TLS).
        case libraryDefault
        case disabled
        /// TLS without checking the server's certificate.
        case required
        /// TLS with the server's certificate checked.
        case verified(caFile: String?)
    }

    var host: String
    var port: Int
    var socket: String?
    var user: String?
    var password: String?
    var database: String?
    var connectTimeout: Int
    var tls: TLS

    init(_ url: DatabaseURL) throws {
        host = url.host
        port = url.effectivePort
        socket = url.socket
        user = url.user
        password = url.password
        database = url.database
        connectTimeout = url.connectTimeout
        let caFile = url.parameters.first { ["sslrootcert", "ssl-ca", "sslca"].contains($0.0) }?.1
        switch url.sslMode?.lowercased().replacingOccurrences(of: "_", with: "-") {
        case nil: tls = caFile == nil ? .libraryDefault : .verified(caFile: caFile)
        case "disable", "disabled": tls = .disabled
        case "allow", "prefer", "preferred": tls = .libraryDefault
        case "require", "required": tls = .required
        case "verify-ca", "verify-full", "verify-identity": tls = .verified(caFile: caFile)
        case let other?:
            throw DatabaseError(.invalidURL, message: "unknown sslmode '\(other)' in database URL: use disable, prefer, require, verify-ca or verify-full")
        }
    }

    /// `host:port` or the socket path, for messages.
    var target: String {
        if let socket { return "socket \(socket)" }
        return host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
    }

    /// Opens a handle. The caller owns it and must `mysql_close` it.
    ///
    /// - Parameters:
    ///   - database: the default schema, or `nil` for none.
    ///   - timeout: seconds to wait for the server; the endpoint's connect timeout by default.
    /// - Throws: ``DatabaseError`` with a one-line message that names the target and
    ///   database and never the password. The handle is closed on every failure.
    func open(database: String?, timeout: Int? = nil) throws -> UnsafeMutablePointer<MYSQL> {
        try MySQLLibrary.ensureInitialized()
        guard let handle = mysql_init(nil) else {
            throw DatabaseError(.other, message: "cannot connect to MySQL at \(target): out of memory")
        }
        let seconds = timeout ?? connectTimeout
        var timeoutValue = UInt32(seconds)
        mysql_options(handle, MYSQL_OPT_CONNECT_TIMEOUT, &timeoutValue)
        mysql_options(handle, MYSQL_SET_CHARSET_NAME, "utf8mb4")
        if socket == nil {
            // A URL host means TCP, even `localhost`, which libmariadb would read as "the default socket".
            var protocolValue = MYSQL_PROTOCOL_TCP.rawValue
            mysql_options(handle, MYSQL_OPT_PROTOCOL, &protocolValue)
        }
        switch tls {
        case .libraryDefault, .disabled:
            break
        case .required:
            var on: my_bool = 1
            var off: my_bool = 0
            mysql_options(handle, MYSQL_OPT_SSL_ENFORCE, &on)
            mysql_options(handle, MYSQL_OPT_SSL_VERIFY_SERVER_CERT, &off)
        case .verified(let caFile):
            var on: my_bool = 1
            mysql_options(handle, MYSQL_OPT_SSL_ENFORCE, &on)
            mysql_options(handle, MYSQL_OPT_SSL_VERIFY_SERVER_CERT, &on)
            if let caFile { mysql_options(handle, MYSQL_OPT_SSL_CA, caFile) }
        }

        let started = ContinuousClock.now
        let connected = mysql_real_connect(
            handle,
            socket == nil ? host : "localhost",
            user, password, database,
            UInt32(socket == nil ? port : 0),
            socket,
            UInt(CLIENT_FOUND_ROWS)  // rows-affected counts matched rows, as PostgreSQL does
        )
        guard connected != nil else {
            let code = mysql_errno(handle)
            let serverMessage = String(cString: mysql_error(handle))
            mysql_close(handle)
            let elapsed = ContinuousClock.now - started
            throw connectError(code: code, serverMessage: serverMessage, database: database,
                               timedOut: elapsed >= .milliseconds(seconds * 1000 - 100), timeout: seconds)
        }
        // libmariadb 3.3 falls back to plain text when the server offers no TLS unless the
        // certificate is verified, so `require` is checked here.
        if case .required = tls, mysql_get_ssl_cipher(handle) == nil {
            mysql_close(handle)
            let what = database.map { "MySQL database '\($0)' at \(target)" } ?? "MySQL at \(target)"
            throw DatabaseError(.other, code: "2026", message: "cannot connect to \(what): sslmode=require, but the server does not offer TLS")
        }
        return handle
    }

    private func connectError(code: UInt32, serverMessage: String, database: String?,
                              timedOut: Bool, timeout: Int) -> DatabaseError {
        var detail = serverMessage.split(whereSeparator: \.isNewline).joined(separator: " ")
        if let password, !password.isEmpty {
            detail = detail.replacingOccurrences(of: password, with: "***")
        }
        let category: DatabaseError.Category
        switch code {
        case 1045, 1044, 1698: category = .authentication
        case 1049: category = .unknownDatabase
        case _ where timedOut:
            category = .timeout
            detail = "no answer within \(timeout) s (\(detail))"
        case 2013:
            // Hung up on before the timeout: a server shutting down (a Galera node leaving)
            // resets the connections it accepts. Nothing ran.
            category = .connectionRefused
            detail = "the server closed the connection during the handshake (\(detail))"
        case 2002, 2003, 2005: category = .connectionRefused
        default: category = .other
        }
        let what = database.map { "MySQL database '\($0)' at \(target)" } ?? "MySQL at \(target)"
        return DatabaseError(category, code: String(code), message: "cannot connect to \(what): \(detail)")
    }
}
