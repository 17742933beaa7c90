import KilnApp
import Logging
import Testing

@Suite struct ConfigurationTests {
    @Test func defaults() throws {
        let configuration = try KilnConfiguration.resolve(environment: [:])
        #expect(configuration.host == "127.0.0.1" && configuration.port == 8080)
        #expect(configuration.dataDirectory == ".kiln" && configuration.databaseURL == nil)
        #expect(configuration.publicURL == "http://127.0.0.1:8080")
    }

    @Test func environmentOverridesDefaultsAndFlagsOverrideEnvironment() throws {
        let environment = [
            "KILN_HOST": "0.0.0.0", "KILN_PORT": "9000", "KILN_DATA_DIR": "/d",
            "KILN_DATABASE_URL": "postgres://x@h/db", "KILN_LOG_LEVEL": "DEBUG",
        ]
        let fromEnvironment = try KilnConfiguration.resolve(environment: environment)
        #expect(fromEnvironment.port == 9000 && fromEnvironment.dataDirectory == "/d")
        #expect(fromEnvironment.databaseURL == "postgres://x@h/db" && fromEnvironment.logLevel == .debug)
        #expect(fromEnvironment.publicURL == "http://127.0.0.1:9000")
        let fromFlags = try KilnConfiguration.resolve(port: 7000, dataDirectory: "/f", environment: environment)
        #expect(fromFlags.port == 7000 && fromFlags.dataDirectory == "/f")
    }

    @Test func badValuesAreRefused() {
        #expect(throws: ConfigurationError.self) { try KilnConfiguration.resolve(environment: ["KILN_PORT": "http"]) }
        #expect(throws: ConfigurationError.self) { try KilnConfiguration.resolve(environment: ["KILN_LOG_LEVEL": "loud"]) }
    }
}
