import Foundation
import StrataDrivers
import StrataSQL
import Testing

/// No shape of database URL shows its password in an error, whether it reaches the
/// parser or the CLI; a NUL or an unknown parameter is refused on both backends.
@Suite("URL redaction")
struct URLRedactionTests {
    static let secret = "s3cr3tP4ss"

    /// Strings that fail to parse, with the secret where a password would be or where
    /// one might be typed by mistake.
    static let badShapes: [String] = [
        "postgres:\(secret)@db.example/billing",
        "//app:\(secret)@db.example/billing",
        "postgres:/app:\(secret)@db.example/billing",
        "mysql//app:\(secret)@db.example/billing",
        "mysql:\(secret)",
        "\(secret)",
        "app:\(secret)@db.example/billing?next=postgres://x",
        "postgres://app:\(secret)@db.example:\(secret)/billing",
        "postgres://app@db.example:\(secret)/billing",
        "postgres://app:12/\(secret)@db.example:5432",
        "mysql://app:\(secret)@db.example:5432",
        "postgres://app:\(secret)@db.example/a/b",
        "postgres://app:\(secret)@[::1/billing",
        "postgres://app:\(secret)%zz@db.example/billing",
        "postgres://app:\(secret)@db.example/billing?connect_timeout=\(secret)",
        "postgres://app:\(secret)@db.example/billing?password=\(secret)",
        "mysql://app:\(secret)@db.example/billing?pass=\(secret)",
        "redis://app:\(secret)@db.example/billing",
    ]

    @Test(arguments: badShapes)
    func noErrorShowsThePassword(_ input: String) throws {
        do {
            let url = try DatabaseURL(input)
            Issue.record("\(input) parsed as \(url)")
        } catch let error as DatabaseError {
            #expect(error.category == .invalidURL)
            #expect(!"\(error)".contains(Self.secret), "\(error)")
            #expect(!"\(error)".contains("\n"))
        }
        #expect(!DatabaseURL.redact(input).contains(Self.secret), "\(DatabaseURL.redact(input))")
    }

    @Test func redactKeepsWhatCannotBeAPassword() {
        #expect(DatabaseURL.redact("postgres://app:\(Self.secret)@db.example:5432/billing?sslmode=require")
                == "postgres://app:***@db.example:5432/billing?***")
        #expect(DatabaseURL.redact("postgres:\(Self.secret)@db.example/billing") == "postgres:***@db.example")
        #expect(DatabaseURL.redact("//app:\(Self.secret)@db.example/billing") == "***@db.example")
        #expect(DatabaseURL.redact("mysql://app@[::1]:3307/billing") == "mysql://app@[::1]:3307/billing")
        #expect(DatabaseURL.redact("postgres://app:pa/ss@db.example:x/billing") == "postgres://app:***@db.example/billing")
    }

    /// A password with an unencoded `/`, `?` or `@` stays whole in the password, never
    /// spilling into the host, port or database (and so into an error).
    @Test func unencodedDelimitersStayInThePassword() throws {
        for password in ["pa/ss", "pa?ss", "p@ss", "pa:ss", "12/34"] {
            let url = try DatabaseURL("postgres://app:\(password)@db.example:5433/billing?sslmode=disable")
            #expect(url.password == password && url.host == "db.example" && url.port == 5433 && url.database == "billing",
                    "\(password): \(url)")
            #expect(url.sslMode == "disable")
        }
    }

    /// libpq and libmariadb take C strings: a NUL would end the value there, so
    /// `s3cr3tP4ss%00garbage` logged in with `s3cr3tP4ss`.
    @Test(arguments: [
        ("postgres://app%00x:\(secret)@db.example/billing", "user"),
        ("postgres://app:\(secret)%00garbage@db.example/billing", "password"),
        ("mysql://app:\(secret)@db.example/billing%00x", "database name"),
        ("mysql://app:\(secret)@db.example/billing?host=a%00b", "parameter"),
    ])
    func aNulIsRefused(_ input: String, _ part: String) throws {
        do {
            let url = try DatabaseURL(input)
            Issue.record("\(input) parsed as \(url)")
        } catch let error as DatabaseError {
            #expect(error.category == .invalidURL)
            #expect("\(error)".contains("NUL") && "\(error)".contains("in the \(part)"), "\(error)")
            #expect(!"\(error)".contains(Self.secret))
        }
    }

    /// Both backends refuse an unknown parameter by name (PostgreSQL used to fail at
    /// connect, MySQL to ignore it), and take the ones the README lists.
    @Test(arguments: ["postgres", "mysql"])
    func unknownParametersAreRefusedByName(_ scheme: String) throws {
        do {
            let url = try DatabaseURL("\(scheme)://app:\(Self.secret)@db.example/billing?sslmode=disable&bogus_option=1")
            Issue.record("parsed as \(url)")
        } catch let error as DatabaseError {
            #expect(error.category == .invalidURL)
            #expect("\(error)".contains("unknown parameter 'bogus_option'") && "\(error)".contains("connect_timeout"), "\(error)")
        }
        let backend: DatabaseURL.Backend = scheme == "postgres" ? .postgres : .mysql
        for key in DatabaseURL.acceptedParameters(for: backend) {
            let value = key == "connect_timeout" ? "3" : key == "host" || key == "socket" ? "/tmp/sock" : "x"
            #expect(throws: Never.self) { try DatabaseURL("\(scheme)://app@db.example/billing?\(key)=\(value)") }
        }
    }

    /// The same shapes through the CLI: `--database-url`, `DATABASE_URL` and
    /// `--scratch-url` (verify), with and without `--json`: a usage error that shows
    /// neither on stdout nor on stderr anything of the password.
    @Test func theCLIShowsNoPasswordWhateverTheShape() async throws {
        var runs = 0
        for input in Self.badShapes + ["postgres://app:\(Self.secret)%00garbage@127.0.0.1/billing",
                                       "mysql://app:\(Self.secret)@127.0.0.1/billing?bogus=\(Self.secret)"] {
            let ways: [([String], [String: String])] = [
                (["migrate", "status", "--database-url", input], [:]),
                (["migrate", "status", "--json"], ["DATABASE_URL": input]),
                (["migrate", "verify", "--scratch-url", input, "--json"], [:]),
            ]
            for (arguments, environment) in ways {
                let r = try await StrataCLI.run(arguments, environment: environment)
                runs += 1
                #expect(r.status == 64, "\(arguments) \(environment): \(r.stderr)")
                #expect(!r.stdout.contains(Self.secret) && !r.stderr.contains(Self.secret), "\(input): \(r.stdout) \(r.stderr)")
                #expect(r.stderr.hasPrefix("strata: error: ") && r.stderr.split(separator: "\n").count == 1, "\(r.stderr)")
                if arguments.contains("--json") {
                    #expect(r.json?["code"] as? String == "usage" && r.json?["exit"] as? Int == 64, "\(r.stdout)")
                }
            }
        }
        #expect(runs == (Self.badShapes.count + 2) * 3)
    }

    /// An unknown role is an authentication failure, as a wrong password is: with a
    /// password the server never says which, over its trusted unix socket it does.
    @Test func postgresUnknownRoleIsAnAuthenticationFailure() async throws {
        var url = try Backend.postgres.url()
        let socketName = ".s.PGSQL.\(url.effectivePort)"
        let candidates = [projectRoot.appendingPathComponent(".strata/pg").path]
            + ((try? FileManager.default.contentsOfDirectory(atPath: "/tmp")) ?? [])
                .filter { $0.hasPrefix("strata-pgsock-") }.map { "/tmp/\($0)" }
        guard let directory = candidates.first(where: { FileManager.default.fileExists(atPath: "\($0)/\(socketName)") }) else {
            Issue.record("no unix socket \(socketName) of the test server in \(candidates)")
            return
        }
        url.socket = directory
        url.user = "strata_no_such_role"
        url.password = nil
        let db = Database(url: url, maxConnections: 1, logger: TestLog.logger)
        do {
            try await db.withConnection { _ in }
            Issue.record("connected as an unknown role")
        } catch let error as DatabaseError {
            #expect(error.category == .authentication, "\(error)")
            #expect("\(error)".contains("strata_no_such_role"), "\(error)")
        }
        await db.close()
    }
}
