import Foundation
import KilnCore
import Persistence
import PersistenceTestSupport
import SQLKit
import Testing
@testable import Accounts

/// The Account API's configuration resources: stored as Databricks shows them, names unique per account
/// and kind, not deletable while a workspace uses them.
@Suite struct AccountResourceStoreTests {
    /// Runs `body` with a bootstrapped account and a store on a manual clock.
    func withStore(
        _ engine: DatabaseEngine,
        _ body: @Sendable (AccountResourceStore, String, ManualClock, any Database) async throws -> Void
    ) async throws {
        try await TestDatabases.with(engine) { database async throws in
            let clock = ManualClock()
            let (account, _, _) = try #require(try await AccountStore(database: database, clock: clock).bootstrap(adminUserName: "a"))
            try await body(AccountResourceStore(database: database, clock: clock), account.accountID, clock, database)
        }
    }

    @Test(arguments: TestDatabases.engines, AccountResourceKind.allCases)
    func createdResourcesCarryTheirIdAccountAndCreationTime(engine: DatabaseEngine, kind: AccountResourceKind) async throws {
        try await withStore(engine) { store, accountID, clock, _ async throws in
            var body = try AccountFixture.body(kind)
            body.set(kind.idField, .string("chosen-by-client"))
            body.set("creation_time", .integer(5))
            let created = try await store.create(kind, accountID: accountID, body: body)
            let id = try #require(created[kind.idField]?.stringValue)
            #expect(id != "chosen-by-client")
            #expect(created["account_id"] == .string(accountID))
            #expect(created["creation_time"] == .integer(clock.nowMillis()))
            if let nameField = kind.nameField { #expect(created[nameField] == .string("r1")) }
            #expect(try await store.get(kind, accountID: accountID, id: id) == created)
            #expect(try await store.list(kind, accountID: accountID) == [created])
            for other in AccountResourceKind.allCases where other != kind {
                #expect(try await store.list(other, accountID: accountID).isEmpty)
            }
        }
    }

    @Test(arguments: TestDatabases.engines)
    func creationFillsInWhatDatabricksFillsIn(engine: DatabaseEngine) async throws {
        try await withStore(engine) { store, accountID, _, _ async throws in
            let credential = try await store.create(.credentials, accountID: accountID, body: AccountFixture.body(.credentials))
            #expect(credential["aws_credentials"]?["sts_role"]?["external_id"] == .string(accountID))
            let network = try await store.create(.networks, accountID: accountID, body: AccountFixture.body(.networks))
            #expect(network["vpc_status"] == .string("UNATTACHED"))
            let settings = try await store.create(.privateAccessSettings, accountID: accountID, body: AccountFixture.body(.privateAccessSettings))
            #expect(settings["private_access_level"] == .string("ACCOUNT"))
            #expect(settings["public_access_enabled"] == .bool(false))
            let endpoint = try await store.create(.vpcEndpoints, accountID: accountID, body: AccountFixture.body(.vpcEndpoints))
            #expect(endpoint["state"] == .string("available"))
            #expect(endpoint["use_case"] == .string("WORKSPACE_ACCESS"))
        }
    }

    @Test(arguments: TestDatabases.engines)
    func invalidBodiesAreRefusedAndNothingIsStored(engine: DatabaseEngine) async throws {
        try await withStore(engine) { store, accountID, _, _ async throws in
            let notObject = await AccountFixture.failure { try await store.create(.networks, accountID: accountID, body: .array([])) }
            #expect(notObject?.code == .malformedRequest)
            #expect(notObject?.message == "The request body must be a JSON object.")
            let unnamed = await AccountFixture.failure {
                try await store.create(
                    .credentials, accountID: accountID,
                    body: AccountFixture.json(
                        #"{"aws_credentials":{"sts_role":{"role_arn":"arn:aws:iam::123456789012:role/r"}}}"#))
            }
            #expect(unnamed?.code == .malformedRequest)
            #expect(unnamed?.message == "Failed parameter validation checks: credentials_name is required.")
            let badBucket = await AccountFixture.failure {
                try await store.create(.storageConfigurations, accountID: accountID, body: AccountFixture.storage(name: "s", bucket: "UPPER"))
            }
            #expect(badBucket?.code == .malformedRequest)
            #expect(badBucket?.message.hasPrefix("Failed parameter validation checks: bucket_name UPPER is not a valid S3 bucket name") == true)
            #expect(try await store.list(.credentials, accountID: accountID).isEmpty)
            #expect(try await store.list(.storageConfigurations, accountID: accountID).isEmpty)
        }
    }

    @Test(arguments: TestDatabases.engines)
    func namesAreUniquePerAccountAndKind(engine: DatabaseEngine) async throws {
        try await withStore(engine) { store, accountID, _, database async throws in
            _ = try await store.create(.credentials, accountID: accountID, body: AccountFixture.body(.credentials, name: "same"))
            let duplicate = await AccountFixture.failure {
                try await store.create(.credentials, accountID: accountID, body: AccountFixture.body(.credentials, name: "same"))
            }
            #expect(duplicate?.code == .resourceAlreadyExists)
            #expect(duplicate?.message == "Credential configuration with name same already exists.")
            // Another kind, or another account, may use the name.
            _ = try await store.create(.networks, accountID: accountID, body: AccountFixture.body(.networks, name: "same"))
            let other = try await AccountFixture.addAccount(database)
            _ = try await store.create(.credentials, accountID: other, body: AccountFixture.body(.credentials, name: "same"))
            #expect(try await store.list(.credentials, accountID: accountID).count == 1)
            #expect(try await store.list(.credentials, accountID: other).count == 1)
            // Keys have no name: identical bodies make two keys.
            _ = try await store.create(.customerManagedKeys, accountID: accountID, body: AccountFixture.body(.customerManagedKeys))
            _ = try await store.create(.customerManagedKeys, accountID: accountID, body: AccountFixture.body(.customerManagedKeys))
            #expect(try await store.list(.customerManagedKeys, accountID: accountID).count == 2)
        }
    }

    @Test(arguments: TestDatabases.engines)
    func listsAreOldestFirst(engine: DatabaseEngine) async throws {
        try await withStore(engine) { store, accountID, clock, _ async throws in
            for name in ["b", "a", "c"] {
                _ = try await store.create(.networks, accountID: accountID, body: AccountFixture.body(.networks, name: name))
                clock.advance(millis: 1000)
            }
            let names = try await store.list(.networks, accountID: accountID).compactMap { $0["network_name"]?.stringValue }
            #expect(names == ["b", "a", "c"])
        }
    }

    @Test(arguments: TestDatabases.engines)
    func aResourceIsFoundOnlyUnderItsKindAndAccount(engine: DatabaseEngine) async throws {
        try await withStore(engine) { store, accountID, _, database async throws in
            let created = try await store.create(.storageConfigurations, accountID: accountID, body: AccountFixture.body(.storageConfigurations))
            let id = try #require(created["storage_configuration_id"]?.stringValue)
            let other = try await AccountFixture.addAccount(database)
            let wrongKind = await AccountFixture.failure { try await store.get(.credentials, accountID: accountID, id: id) }
            #expect(wrongKind?.code == .resourceDoesNotExist)
            #expect(wrongKind?.message == "Credential configuration \(id) does not exist.")
            let wrongAccount = await AccountFixture.failure { try await store.get(.storageConfigurations, accountID: other, id: id) }
            #expect(wrongAccount?.code == .resourceDoesNotExist)
            #expect(wrongAccount?.message == "Storage configuration \(id) does not exist.")
            let missing = await AccountFixture.failure { try await store.delete(.storageConfigurations, accountID: accountID, id: "nope") }
            #expect(missing?.code == .resourceDoesNotExist)
            #expect(try await store.get(.storageConfigurations, accountID: accountID, id: id) == created)
        }
    }

    @Test(arguments: TestDatabases.engines)
    func deleteReturnsTheResourceUnlessAWorkspaceUsesIt(engine: DatabaseEngine) async throws {
        try await withStore(engine) { store, accountID, clock, database async throws in
            let credential = try await store.create(.credentials, accountID: accountID, body: AccountFixture.body(.credentials))
            let storage = try await store.create(.storageConfigurations, accountID: accountID, body: AccountFixture.body(.storageConfigurations))
            let key = try await store.create(.customerManagedKeys, accountID: accountID, body: AccountFixture.body(.customerManagedKeys))
            let spare = try await store.create(.credentials, accountID: accountID, body: AccountFixture.body(.credentials, name: "spare"))
            let workspaces = AccountWorkspaces(database: database, storage: WorkspaceStorage(root: "/nonexistent"), clock: clock)
            let workspace = try await workspaces.create(
                accountID: accountID,
                body: .object([
                    .init("workspace_name", .string("w")), .init("aws_region", .string("us-east-1")),
                    .init("credentials_id", credential["credentials_id"]!),
                    .init("storage_configuration_id", storage["storage_configuration_id"]!),
                    .init("storage_customer_managed_key_id", key["customer_managed_key_id"]!),
                ]))
            let workspaceID = try #require(AccountFixture.integer(workspace["workspace_id"]))

            for (kind, resource) in [(AccountResourceKind.credentials, credential), (.storageConfigurations, storage), (.customerManagedKeys, key)] {
                let id = try #require(resource[kind.idField]?.stringValue)
                let refused = await AccountFixture.failure { try await store.delete(kind, accountID: accountID, id: id) }
                #expect(refused?.code == .invalidState)
                #expect(refused?.message == "\(kind.noun) \(id) is used by workspace \(workspaceID); delete or update the workspace first.")
                #expect(try await store.get(kind, accountID: accountID, id: id) == resource)
            }

            let spareID = try #require(spare["credentials_id"]?.stringValue)
            #expect(try await store.delete(.credentials, accountID: accountID, id: spareID) == spare)
            let gone = await AccountFixture.failure { try await store.get(.credentials, accountID: accountID, id: spareID) }
            #expect(gone?.code == .resourceDoesNotExist)
            let again = await AccountFixture.failure { try await store.delete(.credentials, accountID: accountID, id: spareID) }
            #expect(again?.code == .resourceDoesNotExist)
        }
    }

    @Test(arguments: TestDatabases.engines)
    func replacingPrivateAccessSettingsKeepsIdentityAndChangesTheRest(engine: DatabaseEngine) async throws {
        try await withStore(engine) { store, accountID, clock, _ async throws in
            let created = try await store.create(.privateAccessSettings, accountID: accountID, body: AccountFixture.body(.privateAccessSettings, name: "p1"))
            let id = try #require(created["private_access_settings_id"]?.stringValue)
            clock.advance(millis: 5000)
            let replaced = try await store.replace(
                .privateAccessSettings, accountID: accountID, id: id,
                body: AccountFixture.json(
                    #"{"private_access_settings_name":"p2","region":"us-west-2","private_access_level":"ENDPOINT","public_access_enabled":true,"#
                        + #""allowed_vpc_endpoint_ids":["e1"],"private_access_settings_id":"other","account_id":"other","creation_time":1}"#))
            #expect(replaced["private_access_settings_id"] == .string(id))
            #expect(replaced["account_id"] == .string(accountID))
            #expect(replaced["creation_time"] == created["creation_time"])
            #expect(replaced["private_access_settings_name"] == .string("p2"))
            #expect(replaced["region"] == .string("us-west-2"))
            #expect(replaced["private_access_level"] == .string("ENDPOINT"))
            #expect(replaced["public_access_enabled"] == .bool(true))
            #expect(replaced["allowed_vpc_endpoint_ids"] == .array([.string("e1")]))
            #expect(try await store.get(.privateAccessSettings, accountID: accountID, id: id) == replaced)
            // The old name is free again, the new one is taken.
            _ = try await store.create(.privateAccessSettings, accountID: accountID, body: AccountFixture.body(.privateAccessSettings, name: "p1"))
            let taken = await AccountFixture.failure {
                try await store.create(.privateAccessSettings, accountID: accountID, body: AccountFixture.body(.privateAccessSettings, name: "p2"))
            }
            #expect(taken?.code == .resourceAlreadyExists)
        }
    }

    @Test(arguments: TestDatabases.engines)
    func replaceDropsFieldsTheNewBodyLeavesOut(engine: DatabaseEngine) async throws {
        try await withStore(engine) { store, accountID, _, _ async throws in
            let created = try await store.create(
                .privateAccessSettings, accountID: accountID,
                body: AccountFixture.json(
                    #"{"private_access_settings_name":"p","region":"eu-west-1","private_access_level":"ENDPOINT","allowed_vpc_endpoint_ids":["e1"]}"#))
            let id = try #require(created["private_access_settings_id"]?.stringValue)
            let replaced = try await store.replace(
                .privateAccessSettings, accountID: accountID, id: id, body: AccountFixture.body(.privateAccessSettings, name: "p"))
            #expect(replaced["private_access_level"] == .string("ACCOUNT"))
            #expect(replaced["allowed_vpc_endpoint_ids"] == nil)
        }
    }

    @Test(arguments: TestDatabases.engines)
    func replaceChecksTheBodyTheNameAndTheId(engine: DatabaseEngine) async throws {
        try await withStore(engine) { store, accountID, _, _ async throws in
            let first = try await store.create(.privateAccessSettings, accountID: accountID, body: AccountFixture.body(.privateAccessSettings, name: "p1"))
            _ = try await store.create(.privateAccessSettings, accountID: accountID, body: AccountFixture.body(.privateAccessSettings, name: "p2"))
            let id = try #require(first["private_access_settings_id"]?.stringValue)
            let clash = await AccountFixture.failure {
                try await store.replace(.privateAccessSettings, accountID: accountID, id: id, body: AccountFixture.body(.privateAccessSettings, name: "p2"))
            }
            #expect(clash?.code == .resourceAlreadyExists)
            #expect(clash?.message == "Private access settings with name p2 already exists.")
            let badRegion = await AccountFixture.failure {
                try await store.replace(
                    .privateAccessSettings, accountID: accountID, id: id,
                    body: AccountFixture.json(
                        #"{"private_access_settings_name":"p1","region":"mars-1"}"#))
            }
            #expect(badRegion?.code == .malformedRequest)
            #expect(badRegion?.message.hasPrefix("Failed parameter validation checks: region mars-1 is not supported.") == true)
            let missing = await AccountFixture.failure {
                try await store.replace(.privateAccessSettings, accountID: accountID, id: "nope", body: AccountFixture.body(.privateAccessSettings))
            }
            #expect(missing?.code == .resourceDoesNotExist)
            // Keeping its own name is no clash; nothing above changed the stored resource.
            #expect(try await store.get(.privateAccessSettings, accountID: accountID, id: id) == first)
            let same = try await store.replace(
                .privateAccessSettings, accountID: accountID, id: id, body: AccountFixture.body(.privateAccessSettings, name: "p1"))
            #expect(same == first)
        }
    }

    @Test(arguments: TestDatabases.engines)
    func theBucketOfAStorageConfiguration(engine: DatabaseEngine) async throws {
        try await withStore(engine) { store, accountID, _, database async throws in
            let created = try await store.create(.storageConfigurations, accountID: accountID, body: AccountFixture.storage(name: "s", bucket: "my-bucket"))
            let id = try #require(created["storage_configuration_id"]?.stringValue)
            #expect(try await store.bucket(ofStorageConfiguration: id, accountID: accountID) == "my-bucket")
            let missing = await AccountFixture.failure { try await store.bucket(ofStorageConfiguration: "nope", accountID: accountID) }
            #expect(missing?.code == .resourceDoesNotExist)
            // A row without a bucket (not creatable through the API) is an invalid state, not a crash.
            try await database.write { db in
                try await db.insert(into: "account_resources")
                    .columns("resource_id", "account_id", "kind", "resource_name", "body", "created_at")
                    .values(
                        SQLBind("bare"), SQLBind(accountID), SQLBind("storage-configurations"), SQLBind("bare"),
                        SQLBind(#"{"storage_configuration_id":"bare"}"#), SQLBind(Int64(1))
                    )
                    .run()
            }
            let bare = await AccountFixture.failure { try await store.bucket(ofStorageConfiguration: "bare", accountID: accountID) }
            #expect(bare?.code == .invalidState)
            #expect(bare?.message == "Storage configuration bare has no bucket.")
        }
    }
}
