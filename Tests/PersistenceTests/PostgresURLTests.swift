import Logging
import PostgresNIO
import Testing
@testable import Persistence

@Suite struct PostgresURLTests {
    /// "disable", "prefer" or "require": PostgresNIO keeps the TLS mode private, so it is read by reflection.
    private func tlsMode(_ configuration: PostgresClient.Configuration) -> String {
        let base = Mirror(reflecting: configuration.tls).children.first.map { String(describing: $0.value) } ?? ""
        return String(base.prefix { $0 != "(" })
    }

    @Test func readsEveryPartOfATCPURL() throws {
        let configuration = try PostgresURL.parse("postgres://kiln:s3cret@db.example.com:6543/metadata")
        #expect(configuration.host == "db.example.com")
        #expect(configuration.port == 6543)
        #expect(configuration.unixSocketPath == nil)
        #expect(configuration.username == "kiln")
        #expect(configuration.password == "s3cret")
        #expect(configuration.database == "metadata")
        #expect(tlsMode(configuration) == "disable")
        #expect(configuration.options.maximumConnections == 16)
    }

    @Test func fillsInTheDefaults() throws {
        let configuration = try PostgresURL.parse("postgresql://db.example.com")
        #expect(configuration.port == 5432)
        #expect(configuration.username == "postgres")
        #expect(configuration.password == nil)
        #expect(configuration.database == "postgres", "the database defaults to the user's name")
        #expect(try PostgresURL.parse("postgres://alice@h/").database == "alice")
    }

    @Test func percentEncodedCredentialsAreDecoded() throws {
        let configuration = try PostgresURL.parse("postgres://us%40er:p%40ss%3Aw%2Fd@h/db%20name")
        #expect(configuration.username == "us@er")
        #expect(configuration.password == "p@ss:w/d")
        #expect(configuration.database == "db name")
    }

    @Test(arguments: [
        ("disable", "disable"), ("allow", "disable"), ("prefer", "prefer"), ("require", "require"),
        ("verify-ca", "require"), ("verify-full", "require"), ("anything-else", "require"),
    ])
    func sslModeSelectsTLS(sslmode: String, expected: String) throws {
        #expect(tlsMode(try PostgresURL.parse("postgres://u@h/db?sslmode=\(sslmode)")) == expected)
    }

    @Test func theLastRepeatedQueryItemWins() throws {
        #expect(tlsMode(try PostgresURL.parse("postgres://u@h/db?sslmode=require&sslmode=disable")) == "disable")
    }

    @Test func aHostPathSelectsAUnixSocket() throws {
        let configuration = try PostgresURL.parse("postgres://kiln@/metadata?host=/tmp/pg")
        #expect(configuration.unixSocketPath == "/tmp/pg/.s.PGSQL.5432")
        #expect(configuration.host == nil)
        #expect(configuration.username == "kiln" && configuration.database == "metadata")
        let withPort = try PostgresURL.parse("postgres://kiln@localhost:6000/metadata?host=/var/run/postgresql")
        #expect(withPort.unixSocketPath == "/var/run/postgresql/.s.PGSQL.6000")
    }

    @Test func aHostItemThatIsNotAPathIsIgnored() throws {
        let configuration = try PostgresURL.parse("postgres://u@real-host/db?host=other")
        #expect(configuration.host == "real-host")
        #expect(configuration.unixSocketPath == nil)
    }

    @Test(arguments: ["mysql://u@h/db", "http://h", "h:5432/db", "", "not a url", "postgres://", "postgres:///db", "postgres://u@:5432/db"])
    func refusesWhatItCannotUse(url: String) {
        #expect(throws: DatabaseError.self) { try PostgresURL.parse(url) }
    }

    @Test func saysWhatIsWrong() {
        let scheme = #expect(throws: DatabaseError.self) { try PostgresURL.parse("mysql://h/db") }
        #expect(scheme?.description == "Invalid database URL: expected postgres://user:password@host:port/database")
        let host = #expect(throws: DatabaseError.self) { try PostgresURL.parse("postgres:///db") }
        #expect(host?.description == "Invalid database URL: no host")
    }

    @Test func aStoreRefusesAnInvalidURLBeforeConnecting() {
        #expect(throws: DatabaseError.self) { try PostgresStore(url: "sqlite:///tmp/kiln.sqlite", logger: Logger(label: "t")) }
    }
}
