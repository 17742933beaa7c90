public import Accounts
import Foundation
import Logging
import Persistence

/// Opens the metadata store of a configuration for a one-off admin task, migrated, and closes it after.
public func withAccountStore<T: Sendable>(
    configuration: KilnConfiguration, _ body: @Sendable (AccountStore) async throws -> T
) async throws -> T {
    try await withDatabase(configuration: configuration) { database in try await body(AccountStore(database: database)) }
}

/// Creates a service principal in the store of a configuration, assigned to the default workspace (as its
/// admin when it is an account admin); returns its client id and secret.
public func createServicePrincipal(
    configuration: KilnConfiguration, accountID: String, name: String, isAdmin: Bool
) async throws -> (clientID: String, secret: String) {
    try await withDatabase(configuration: configuration) { database in
        let principals = ServicePrincipals(database: database)
        let (clientID, secret) = try await principals.create(accountID: accountID, displayName: name, isAdmin: isAdmin)
        let accounts = AccountStore(database: database)
        if let user = try await accounts.user(accountID: accountID, userName: clientID) {
            try await accounts.assignToDefaultWorkspace(user)
        }
        return (clientID, secret)
    }
}

/// Opens the metadata store of a configuration, migrated, runs `body`, and closes the store.
func withDatabase<T: Sendable>(
    configuration: KilnConfiguration, _ body: @Sendable (any Database) async throws -> T
) async throws -> T {
    let logger = {
        var logger = Logger(label: "kiln-admin")
        logger.logLevel = .warning
        return logger
    }()
    if let url = configuration.databaseURL {
        let store = try PostgresStore(url: url, logger: logger)
        return try await store.withRunningClient {
            try await Migrator(database: store, logger: logger).migrate()
            return try await body(store)
        }
    }
    guard FileManager.default.fileExists(atPath: configuration.sqlitePath) else {
        throw ConfigurationError("No Kiln data in \(configuration.dataDirectory); run `kiln serve` once first.")
    }
    let store = try await SQLiteStore.open(path: configuration.sqlitePath, connections: 1, logger: logger)
    return try await store.closing {
        try await Migrator(database: store, logger: logger).migrate()
        return try await body(store)
    }
}
