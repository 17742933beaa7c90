import Foundation
public import KilnCore
public import Persistence
import SQLKit

/// Reads and writes accounts, users and workspaces.
public struct AccountStore: Sendable {
    private let database: any Database
    private let clock: any WallClock
    /// Workspaces by how requests name them, users by id, and workspace access, in memory (`RowCache`);
    /// shared by the copies of this store.
    private let workspaceCache: RowCache<WorkspaceKey, Workspace>
    private let userCache: RowCache<Int64, User>
    private let accessCache: RowCache<WorkspaceAssignments.AccessKey, WorkspaceAssignments.Access>

    public init(database: any Database, clock: any WallClock = SystemClock()) {
        self.database = database
        self.clock = clock
        workspaceCache = RowCache(database: database, topic: .identity)
        userCache = RowCache(database: database, topic: .identity)
        accessCache = RowCache(database: database, topic: .identity)
    }

    /// How a request names its workspace (`TenantResponder`).
    private enum WorkspaceKey: Hashable, Sendable {
        case byDefault
        case id(Int64)
        case deploymentName(String)
    }

    /// The groups of the accounts in the same database.
    public var groups: Groups { Groups(database: database, clock: clock) }

    /// The workspace assignments in the same database.
    public var assignments: WorkspaceAssignments { WorkspaceAssignments(database: database, accessCache: accessCache) }

    /// The workspace served on the bare host, once bootstrap has run.
    public func defaultWorkspace() async throws -> Workspace? {
        try await workspace(.byDefault) { $0.where("is_default", .equal, true) }
    }

    /// The workspace with this id, if it exists.
    public func workspace(id: Int64) async throws -> Workspace? {
        try await workspace(.id(id)) { $0.where("workspace_id", .equal, id) }
    }

    /// The workspace served at `deploymentName`, if it exists.
    public func workspace(deploymentName: String) async throws -> Workspace? {
        try await workspace(.deploymentName(deploymentName)) { $0.where("deployment_name", .equal, deploymentName) }
    }

    private func workspace(_ key: WorkspaceKey, where filter: @escaping @Sendable (SQLSelectBuilder) -> SQLSelectBuilder) async throws -> Workspace? {
        try await workspaceCache.value(key) {
            try await database.read { db in
                try await filter(db.select().column("*").from("workspaces")).first().map(Workspace.init(row:))
            }
        }
    }

    /// The users of an account, in creation order; service principals (users that log in with a client
    /// id and secret) are not among them, as in Databricks' SCIM `Users`.
    public func users(accountID: String) async throws -> [User] {
        try await database.read { db in
            try await db.select().column("*").from("users").where("account_id", .equal, accountID)
                .where(SQLIdentifier("user_id"), .notIn, SQLGroupExpression(db.select().column("user_id").from("service_principals").query))
                .orderBy("created_at").all().map(User.init(row:))
        }
    }

    /// Every principal of an account by its id and the name it logs in with — user name, or a service
    /// principal's application id — with whether it is a service principal.
    public func principals(accountID: String) async throws -> [(id: Int64, name: String, isServicePrincipal: Bool)] {
        try await database.read { db in
            let users = try await db.select().column("*").from("users").where("account_id", .equal, accountID).all().map(User.init(row:))
            let servicePrincipals = Set(
                try await db.select().column("user_id").from("service_principals")
                    .where(
                        SQLIdentifier("user_id"), .in,
                        SQLGroupExpression(db.select().column("user_id").from("users").where("account_id", .equal, accountID).query)
                    )
                    .all().map { try $0.decode(column: "user_id", as: Int64.self) })
            return users.map { ($0.userID, $0.userName, servicePrincipals.contains($0.userID)) }
        }
    }

    /// Whether the user is a service principal (logs in with a client id and secret).
    public func isServicePrincipal(userID: Int64) async throws -> Bool {
        try await database.read { db in
            try await db.select().column("user_id").from("service_principals").where("user_id", .equal, userID).first() != nil
        }
    }

    /// Adds a user (without a password) to an account.
    public func createUser(accountID: String, userName: String, displayName: String, isAdmin: Bool = false) async throws -> User {
        let user = User(
            userID: IdentifierGenerator.next(), accountID: accountID, userName: userName,
            displayName: displayName, isAdmin: isAdmin, createdAt: clock.nowMillis())
        try await database.write(lockKey: Migrator.bootstrapLockKey) { db in
            let existing = try await db.select().column("user_id").from("users")
                .where("account_id", .equal, accountID).where("user_name", .equal, userName).first()
            guard existing == nil else { throw KilnError(.resourceAlreadyExists, "User with username \(userName) already exists.") }
            try await db.insert(into: "users")
                .columns("user_id", "account_id", "user_name", "display_name", "is_admin", "password_hash", "created_at")
                .values(
                    SQLBind(user.userID), SQLBind(accountID), SQLBind(userName), SQLBind(displayName),
                    SQLBind(isAdmin), SQLLiteral.null, SQLBind(user.createdAt)
                )
                .run()
        }
        return user
    }

    /// Removes a user of an account (and their tokens, group memberships and workspace assignments).
    /// Throws `KilnError(.resourceDoesNotExist)` when the account has no such user, and
    /// `KilnError(.invalidParameterValue)` for the account's last active admin or a workspace's only admin.
    public func deleteUser(accountID: String, userID: Int64) async throws {
        try await database.write(lockKey: Migrator.bootstrapLockKey) { db in
            guard
                let user = try await db.select().column("*").from("users").where("account_id", .equal, accountID)
                    .where("user_id", .equal, userID).first().map(User.init(row:))
            else { throw KilnError(.resourceDoesNotExist, "User \(userID) does not exist.") }
            if user.isAdmin && user.active { try await Self.requireAnotherAdmin(db, than: user) }
            try await WorkspaceAssignments.requireNotSoleAdmin(db, principalID: userID, name: user.userName)
            try await db.delete(from: "users").where("user_id", .equal, userID).run()
            try await Groups.forget(db, principalID: userID)
        }
    }

    /// Stores a user's SCIM attributes as `user` has them: `displayName`, `active`, `externalId`,
    /// `entitlements`, `roles` and whether it is an account admin (its user name and id do not change).
    /// Throws `KilnError(.resourceDoesNotExist)` when the user is gone, and `KilnError(.invalidParameterValue)`
    /// when the change would leave the account with no active admin, or deactivates a workspace's only admin.
    public func save(_ user: User) async throws {
        try await database.write(lockKey: Migrator.bootstrapLockKey) { db in
            guard
                let stored = try await db.select().column("*").from("users").where("account_id", .equal, user.accountID)
                    .where("user_id", .equal, user.userID).first().map(User.init(row:))
            else { throw KilnError(.resourceDoesNotExist, "User \(user.userID) does not exist.") }
            if stored.isAdmin && stored.active && !(user.isAdmin && user.active) { try await Self.requireAnotherAdmin(db, than: stored) }
            if stored.active && !user.active { try await WorkspaceAssignments.requireNotSoleAdmin(db, principalID: user.userID, name: user.userName) }
            try await db.update("users").set("display_name", to: user.displayName).set("active", to: user.active)
                .set("external_id", to: user.externalID).set("entitlements", to: StringList.encode(user.entitlements))
                .set("roles", to: StringList.encode(user.roles)).set("is_admin", to: user.isAdmin)
                .where("user_id", .equal, user.userID).run()
        }
    }

    /// Refuses a change that would leave `user`'s account without an active admin.
    private static func requireAnotherAdmin(_ db: any SQLDatabase, than user: User) async throws {
        let other = try await db.select().column("user_id").from("users").where("account_id", .equal, user.accountID)
            .where("is_admin", .equal, true).where("active", .equal, true).where("user_id", .notEqual, user.userID).first()
        guard other != nil else {
            throw KilnError.invalidParameter("\(user.userName) is the account's last active admin; make another admin first.")
        }
    }

    /// Assigns a principal made by `kiln admin` to its account's default workspace: as an admin when it is an
    /// account admin, as a user otherwise.
    public func assignToDefaultWorkspace(_ user: User) async throws {
        guard let workspace = try await defaultWorkspace(), workspace.accountID == user.accountID else { return }
        try await assignments.set(workspaceID: workspace.workspaceID, principalID: user.userID, permission: user.isAdmin ? .admin : .user)
    }

    /// The first account (the one bootstrap created), if any.
    public func primaryAccount() async throws -> Account? {
        try await database.read { db in
            try await db.select().columns("account_id", "account_name", "created_at").from("accounts")
                .orderBy("created_at").limit(1).first()
                .map { row in
                    Account(
                        accountID: try row.decode(column: "account_id", as: String.self),
                        name: try row.decode(column: "account_name", as: String.self),
                        createdAt: try row.decode(column: "created_at", as: Int64.self))
                }
        }
    }

    /// The user `userName` of an account, if any.
    public func user(accountID: String, userName: String) async throws -> User? {
        try await database.read { db in
            try await db.select().column("*").from("users").where("account_id", .equal, accountID)
                .where("user_name", .equal, userName).first().map(User.init(row:))
        }
    }

    /// Sets the account's deployment-name prefix: new workspaces are deployed as `<prefix>-<name>`.
    public func setDeploymentNamePrefix(accountID: String, prefix: String) async throws {
        guard prefix.count <= 40, prefix.range(of: #"^[a-z0-9]([a-z0-9-]*[a-z0-9])?$"#, options: .regularExpression) != nil else {
            throw KilnError.invalidParameter("A deployment-name prefix is lower-case letters, digits and hyphens, not starting or ending with a hyphen.")
        }
        try await database.write { db in
            try await db.update("accounts").set("deployment_name_prefix", to: prefix).where("account_id", .equal, accountID).run()
        }
    }

    /// The admins of an account.
    public func admins(accountID: String) async throws -> [User] {
        try await database.read { db in
            try await db.select().column("*").from("users").where("account_id", .equal, accountID)
                .where("is_admin", .equal, true).all().map(User.init(row:))
        }
    }

    /// The user with this id, if it exists.
    public func user(id: Int64) async throws -> User? {
        try await userCache.value(id) {
            try await database.read { db in
                try await db.select().column("*").from("users").where("user_id", .equal, id)
                    .first().map(User.init(row:))
            }
        }
    }

    /// The account user `userName` of `accountID` (of any account when `nil`) if `password` is theirs.
    public func verifyPassword(accountID: String?, userName: String, password: String) async throws -> User? {
        let rows = try await database.read { db in
            var query = db.select().column("*").from("users").where("user_name", .equal, userName)
            if let accountID { query = query.where("account_id", .equal, accountID) }
            return try await query.all()
        }
        for row in rows {
            guard let stored = try row.decode(column: "password_hash", as: String?.self) else { continue }
            if !VerifiedPasswords.shared.contains(storedHash: stored, password: password) {
                guard PasswordHasher.verify(password, against: stored) else { continue }
                VerifiedPasswords.shared.insert(storedHash: stored, password: password)
            }
            return try User(row: row)
        }
        return nil
    }

    /// Sets a user's password (stored as a slow salted hash).
    public func setPassword(userID: Int64, password: String) async throws {
        let hash = PasswordHasher.hash(password)
        try await database.write { db in
            try await db.update("users").set("password_hash", to: hash).where("user_id", .equal, userID).run()
        }
    }

    /// Gives a user a new random password and returns it (shown once to whoever asked).
    public func assignRandomPassword(userID: Int64) async throws -> String {
        let password = PasswordHasher.generatePassword()
        try await setPassword(userID: userID, password: password)
        return password
    }

    /// Creates the default account, its admin user and the default workspace if none exist yet.
    /// Returns what was created, or `nil` when the store was already bootstrapped.
    public func bootstrap(adminUserName: String) async throws -> (Account, User, Workspace)? {
        let now = clock.nowMillis()
        return try await database.write(lockKey: Migrator.bootstrapLockKey) { db -> (Account, User, Workspace)? in
            let existing = try await db.select().column("account_id").from("accounts").limit(1).first()
            guard existing == nil else { return nil }
            let account = Account(accountID: IdentifierGenerator.uuid(), name: "Kiln", createdAt: now)
            let admin = User(
                userID: IdentifierGenerator.next(), accountID: account.accountID, userName: adminUserName,
                displayName: "Kiln Admin", isAdmin: true, createdAt: now
            )
            let workspace = Workspace(
                workspaceID: IdentifierGenerator.next(), accountID: account.accountID, name: "default",
                deploymentName: "default", isDefault: true, status: "RUNNING", createdAt: now
            )
            try await db.insert(into: "accounts").columns("account_id", "account_name", "created_at")
                .values(SQLBind(account.accountID), SQLBind(account.name), SQLBind(now)).run()
            try await db.insert(into: "users")
                .columns("user_id", "account_id", "user_name", "display_name", "is_admin", "password_hash", "created_at")
                .values(
                    SQLBind(admin.userID), SQLBind(admin.accountID), SQLBind(admin.userName),
                    SQLBind(admin.displayName), SQLBind(true), SQLLiteral.null, SQLBind(now)
                ).run()
            try await db.insert(into: "workspaces")
                .columns(
                    "workspace_id", "account_id", "workspace_name", "deployment_name", "is_default",
                    "workspace_status", "created_at"
                )
                .values(
                    SQLBind(workspace.workspaceID), SQLBind(account.accountID), SQLBind(workspace.name),
                    SQLBind(workspace.deploymentName), SQLBind(true), SQLBind(workspace.status), SQLBind(now)
                ).run()
            try await db.insert(into: "workspace_assignments").columns("workspace_id", "principal_id", "permission")
                .values(SQLBind(workspace.workspaceID), SQLBind(admin.userID), SQLBind(WorkspacePermission.admin.rawValue)).run()
            return (account, admin, workspace)
        }
    }
}

extension Workspace {
    init(row: any SQLRow) throws {
        self.init(
            workspaceID: try row.decode(column: "workspace_id", as: Int64.self),
            accountID: try row.decode(column: "account_id", as: String.self),
            name: try row.decode(column: "workspace_name", as: String.self),
            deploymentName: try row.decode(column: "deployment_name", as: String.self),
            isDefault: try row.decode(column: "is_default", as: Bool.self),
            status: try row.decode(column: "workspace_status", as: String.self),
            createdAt: try row.decode(column: "created_at", as: Int64.self),
            statusMessage: (try? row.decode(column: "workspace_status_message", as: String.self)) ?? ""
        )
    }
}

extension User {
    init(row: any SQLRow) throws {
        self.init(
            userID: try row.decode(column: "user_id", as: Int64.self),
            accountID: try row.decode(column: "account_id", as: String.self),
            userName: try row.decode(column: "user_name", as: String.self),
            displayName: try row.decode(column: "display_name", as: String.self),
            isAdmin: try row.decode(column: "is_admin", as: Bool.self),
            createdAt: try row.decode(column: "created_at", as: Int64.self),
            active: try row.decode(column: "active", as: Bool.self),
            externalID: try row.decode(column: "external_id", as: String?.self),
            entitlements: StringList.decode(try row.decode(column: "entitlements", as: String.self)),
            roles: StringList.decode(try row.decode(column: "roles", as: String.self))
        )
    }
}

/// A list of strings stored as a JSON array in one column (`entitlements`, `roles`).
enum StringList {
    static func encode(_ values: [String]) -> String {
        String(decoding: (try? JSONEncoder().encode(values)) ?? Data("[]".utf8), as: UTF8.self)
    }

    static func decode(_ text: String) -> [String] {
        (try? JSONDecoder().decode([String].self, from: Data(text.utf8))) ?? []
    }
}
