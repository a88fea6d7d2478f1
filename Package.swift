// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "Strata",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "strata", targets: ["strata"]),
        .library(name: "StrataSQL", targets: ["StrataSQL"]),
        .library(name: "StrataPostgres", targets: ["StrataPostgres"]),
        .library(name: "StrataMySQL", targets: ["StrataMySQL"]),
        .library(name: "StrataDrivers", targets: ["StrataDrivers"]),
        .library(name: "StrataMigrations", targets: ["StrataMigrations"]),
        .library(name: "StrataBilling", targets: ["StrataBilling"]),
        .library(name: "StrataSeeds", targets: ["StrataSeeds"]),
        .library(name: "StrataHTTP", targets: ["StrataHTTP"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        // 3.x or 4.x: jwt-kit 5.8 needs swift-crypto 4, the rest of Strata builds on either.
        .package(url: "https://github.com/apple/swift-crypto", "3.12.3"..<"5.0.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/vapor/jwt-kit", from: "5.8.0"),
        // Already in the graph through Hummingbird; named for `HTTPField.Name`, which it does not re-export.
        .package(url: "https://github.com/apple/swift-http-types", from: "1.8.0"),
        // Also in the graph through Hummingbird; named for the request read deadline's channel handler.
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-extras", from: "1.35.2"),
        // The metrics API for libraries; only the CLI bootstraps a backend (swift-prometheus).
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
    ],
    targets: [
        .systemLibrary(
            name: "CLibPQ",
            pkgConfig: "libpq",
            providers: [.apt(["libpq-dev"])]
        ),
        .systemLibrary(
            name: "CMariaDB",
            pkgConfig: "libmariadb",
            providers: [.apt(["libmariadb-dev"])]
        ),
        .target(
            name: "StrataSQL",
            dependencies: [.product(name: "Logging", package: "swift-log")]
        ),
        .target(
            name: "StrataPostgres",
            dependencies: ["StrataSQL", "CLibPQ", .product(name: "Logging", package: "swift-log")]
        ),
        .target(
            name: "StrataMySQL",
            dependencies: ["StrataSQL", "CMariaDB", .product(name: "Logging", package: "swift-log")]
        ),
        .target(
            name: "StrataDrivers",
            dependencies: ["StrataSQL", "StrataPostgres", "StrataMySQL"]
        ),
        .target(
            name: "StrataMigrations",
            dependencies: [
                "StrataSQL",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),
        .target(
            name: "StrataBilling",
            dependencies: [
                "StrataSQL",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Metrics", package: "swift-metrics"),
            ]
        ),
        .target(
            name: "StrataSeeds",
            dependencies: [
                "StrataSQL",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),
        .target(
            name: "StrataHTTP",
            dependencies: [
                "StrataSQL", "StrataMigrations", "StrataBilling",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "JWTKit", package: "jwt-kit"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ],
            // The API's contract, compiled into the binary (`PackageResources.openapi_json`):
            // `GET /openapi.json` serves it verbatim, with no bundle to find at run time.
            resources: [.embedInCode("openapi.json")]
        ),
        .executableTarget(
            name: "strata",
            dependencies: [
                "StrataSQL", "StrataDrivers", "StrataMigrations", "StrataBilling", "StrataSeeds", "StrataHTTP",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
            ]
        ),
        .executableTarget(
            name: "strata-bench",
            dependencies: [
                "StrataSQL", "StrataDrivers", "StrataMigrations", "StrataBilling",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .testTarget(
            name: "StrataTests",
            dependencies: [
                "StrataSQL", "StrataDrivers", "StrataMigrations", "StrataBilling", "StrataSeeds",
                "StrataPostgres", "StrataMySQL", "StrataHTTP",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "CryptoExtras", package: "swift-crypto"),
            ]
        ),
    ],
    swiftLanguageModes: [.v6]
)

// libFuzzer targets, declared only for scripts/fuzz (STRATA_FUZZ=1), which builds them
// with `-sanitize=fuzzer,address` in a scratch folder of its own: they link only with
// libFuzzer, so `swift build` and `swift test` must never see them.
if Context.environment["STRATA_FUZZ"] == "1" {
    package.targets.append(.systemLibrary(name: "CLibFuzzer", path: "Fuzz/CLibFuzzer"))
    let fuzzTargets: [(name: String, dependencies: [Target.Dependency])] = [
        ("fuzz-sql-splitter", ["StrataMigrations"]),
        ("fuzz-database-url", ["StrataSQL"]),
        ("fuzz-seed-readers", ["StrataSeeds", "StrataDrivers", "StrataSQL", .product(name: "Logging", package: "swift-log")]),
        ("fuzz-webhook-signature", ["StrataBilling", "StrataSQL"]),
    ]
    for target in fuzzTargets {
        package.products.append(.executable(name: target.name, targets: [target.name]))
        package.targets.append(.executableTarget(
            name: target.name, dependencies: ["CLibFuzzer"] + target.dependencies, path: "Fuzz/\(target.name)"))
    }
}
