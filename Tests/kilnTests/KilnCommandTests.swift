import Accounts
import ArgumentParser
import Foundation
import KilnApp
import Testing

@testable import kiln

/// The `kiln` command line: what each subcommand reads from its arguments, and the admin commands on a
/// data directory of their own.
@Suite struct KilnCommandTests {
    @Test func serveTakesTheStoreOptionsEveryCommandShares() throws {
        let command = try Kiln.parseAsRoot(["serve", "--data-dir", "/srv/kiln", "--port", "9000", "--tls"])
        let serve = try #require(command as? Serve)
        #expect(serve.store.dataDir == "/srv/kiln")
        #expect(serve.store.databaseURL == nil)
        #expect(serve.port == 9000)
        #expect(serve.tls)
        let admin = try #require(try Kiln.parseAsRoot(["admin", "create-user", "bob@example.com", "--admin", "--data-dir", "/srv/kiln"]) as? CreateUser)
        #expect(admin.store.dataDir == "/srv/kiln" && admin.userName == "bob@example.com" && admin.admin)
    }

    @Test func badArgumentsAreRefusedBeforeAnythingRuns() {
        #expect(throws: (any Error).self) { try Kiln.parseAsRoot(["serve", "--port", "eighty"]) }
        #expect(throws: (any Error).self) { try Kiln.parseAsRoot(["admin", "create-user"]) } // the user name is required
        #expect(throws: (any Error).self) { try Kiln.parseAsRoot(["no-such-command"]) }
    }

    @Test func theStoreOptionsResolveLikeTheServer() throws {
        let options = try StoreOptions.parse(["--data-dir", "/srv/kiln"])
        let configuration = try options.configuration()
        #expect(configuration.dataDirectory == "/srv/kiln")
        #expect(configuration.sqlitePath == "/srv/kiln/kiln.sqlite")
        #expect(configuration.databaseURL == nil || ProcessInfo.processInfo.environment["KILN_DATABASE_URL"] != nil)
    }

    @Test func adminCommandsNeedDataAServerMadeFirst() async throws {
        let directory = NSTemporaryDirectory() + "kiln-cli-\(UUID().uuidString.prefix(8))"
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var command = try CreateUser.parse(["bob@example.com", "--data-dir", directory])
        await #expect(throws: (any Error).self) { try await command.run() }
        #expect(!FileManager.default.fileExists(atPath: directory + "/kiln.sqlite"))
    }

    @Test func adminCommandsActOnTheAccountOfTheDataDirectory() async throws {
        let directory = NSTemporaryDirectory() + "kiln-cli-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        // What `kiln serve` leaves on first start: the store with an account (withAccountStore migrates it).
        FileManager.default.createFile(atPath: directory + "/kiln.sqlite", contents: nil)
        let configuration = try StoreOptions.parse(["--data-dir", directory]).configuration()
        _ = try await withAccountStore(configuration: configuration) { try await $0.bootstrap(adminUserName: "admin@example.com") }

        var create = try CreateUser.parse(["bob@example.com", "--admin", "--data-dir", directory])
        try await create.run()
        var prefix = try SetDeploymentPrefix.parse(["acme", "--data-dir", directory])
        try await prefix.run()
        var badPrefix = try SetDeploymentPrefix.parse(["Not a prefix!", "--data-dir", directory])
        await #expect(throws: (any Error).self) { try await badPrefix.run() }
        let bob = try await withAccountStore(configuration: configuration) { accounts in
            let account = try #require(try await accounts.primaryAccount())
            return try await accounts.user(accountID: account.accountID, userName: "bob@example.com")
        }
        #expect(bob?.isAdmin == true)
        var again = try CreateUser.parse(["bob@example.com", "--data-dir", directory])
        await #expect(throws: (any Error).self) { try await again.run() }
    }
}
