import Foundation
public import KilnCore
public import Persistence
import SQLKit

/// A group of an account (SCIM `Groups`, account-level as in Databricks' identity federation): its members
/// are users, service principals and other groups, so groups nest.
public struct Group: Sendable, Equatable {
    public var groupID: Int64
    public var accountID: String
    public var displayName: String
    public var externalID: String?
    /// SCIM `entitlements` values.
    public var entitlements: [String]
    /// SCIM `roles` values.
    public var roles: [String]
    /// The direct members, by principal id, in id order.
    public var members: [Int64]
    public var createdAt: Int64
}

/// The groups of each account and their members. Principal ids (users, service principals, groups) come
/// from one generator, so a member id names exactly one principal.
public struct Groups: Sendable {
    let database: any Database
    let clock: any WallClock

    public init(database: any Database, clock: any WallClock = SystemClock()) {
        self.database = database
        self.clock = clock
    }

    /// The account's groups, in creation order, with their members.
    public func list(accountID: String) async throws -> [Group] {
        try await database.read { db in try await Self.groups(db, accountID: accountID) }
    }

    /// The account's group with this id; nil when there is none.
    public func group(accountID: String, id: Int64) async throws -> Group? {
        try await database.read { db in try await Self.groups(db, accountID: accountID, id: id).first }
    }

    /// Creates a group. Throws `KilnError(.resourceAlreadyExists)` for a display name the account has already,
    /// and `KilnError(.invalidParameterValue)` for an empty name or a member that is not the account's.
    public func create(
        accountID: String, displayName: String, externalID: String? = nil, entitlements: [String] = [], roles: [String] = [],
        members: [Int64] = []
    ) async throws -> Group {
        let group = Group(
            groupID: IdentifierGenerator.next(), accountID: accountID, displayName: displayName, externalID: externalID,
            entitlements: entitlements, roles: roles, members: [], createdAt: clock.nowMillis())
        try await database.write(lockKey: Self.lockKey(accountID)) { db in
            try await Self.checkName(db, group)
            try await db.insert(into: "account_groups")
                .columns("group_id", "account_id", "display_name", "external_id", "entitlements", "roles", "created_at")
                .values(
                    SQLBind(group.groupID), SQLBind(accountID), SQLBind(displayName), SQLBind(externalID),
                    SQLBind(StringList.encode(entitlements)), SQLBind(StringList.encode(roles)), SQLBind(group.createdAt)
                )
                .run()
            try await Self.setMembers(db, of: group, to: members)
        }
        return try await self.group(accountID: accountID, id: group.groupID) ?? group
    }

    /// Stores every attribute of `group` (a SCIM PUT or PATCH), its members replaced by `group.members`. Throws
    /// as `create` does, `KilnError(.invalidParameterValue)` for a member that would make the group contain
    /// itself, and `KilnError(.resourceDoesNotExist)` when the group is gone.
    public func save(_ group: Group) async throws {
        try await database.write(lockKey: Self.lockKey(group.accountID)) { db in
            guard try await Self.groups(db, accountID: group.accountID, id: group.groupID).first != nil else {
                throw KilnError(.resourceDoesNotExist, "Group \(group.groupID) does not exist.")
            }
            try await Self.checkName(db, group)
            try await db.update("account_groups")
                .set("display_name", to: group.displayName).set("external_id", to: group.externalID)
                .set("entitlements", to: StringList.encode(group.entitlements)).set("roles", to: StringList.encode(group.roles))
                .where("group_id", .equal, group.groupID).run()
            try await db.delete(from: "group_members").where("group_id", .equal, group.groupID).run()
            try await Self.setMembers(db, of: group, to: group.members)
        }
    }

    /// Deletes a group: it leaves the groups it was in and loses its workspace assignments. Throws
    /// `KilnError(.resourceDoesNotExist)` when the account has no such group, and
    /// `KilnError(.invalidParameterValue)` when it is a workspace's only admin.
    public func delete(accountID: String, id: Int64) async throws {
        try await database.write(lockKey: Self.lockKey(accountID)) { db in
            try await WorkspaceAssignments.requireNotSoleAdmin(db, principalID: id, name: "Group \(id)")
            let deleted = try await db.delete(from: "account_groups").where("account_id", .equal, accountID)
                .where("group_id", .equal, id).returning("group_id").all().count
            guard deleted > 0 else { throw KilnError(.resourceDoesNotExist, "Group \(id) does not exist.") }
            try await Self.forget(db, principalID: id)
        }
    }

    /// For each principal of the account that is in a group, the groups it is directly in (`id`, name).
    public func directMemberships(accountID: String) async throws -> [Int64: [(id: Int64, name: String)]] {
        try await database.read { db in
            let rows = try await db.select()
                .column(SQLColumn("member_id", table: "group_members")).column(SQLColumn("group_id", table: "account_groups"))
                .column(SQLColumn("display_name", table: "account_groups"))
                .from("group_members")
                .join("account_groups", on: SQLColumn("group_id", table: "group_members"), .equal, SQLColumn("group_id", table: "account_groups"))
                .where(SQLColumn("account_id", table: "account_groups"), .equal, SQLBind(accountID))
                .orderBy(SQLColumn("created_at", table: "account_groups")).all()
            var memberships: [Int64: [(id: Int64, name: String)]] = [:]
            for row in rows {
                let member = try row.decode(column: "member_id", as: Int64.self)
                memberships[member, default: []].append(
                    (try row.decode(column: "group_id", as: Int64.self), try row.decode(column: "display_name", as: String.self)))
            }
            return memberships
        }
    }

    /// Removes a principal that is being deleted from every group and workspace it was in.
    static func forget(_ db: any SQLDatabase, principalID: Int64) async throws {
        try await db.delete(from: "group_members").where("member_id", .equal, principalID).run()
        try await db.delete(from: "workspace_assignments").where("principal_id", .equal, principalID).run()
    }

    /// Writes one account's changes to its groups one at a time, so that a cycle check sees the others'.
    static func lockKey(_ accountID: String) -> Int64 {
        Int64(bitPattern: UInt64(truncatingIfNeeded: accountID.utf8.reduce(5381) { ($0 &* 33) &+ UInt64($1) })) ^ 0x6772_6F75_7073
    }

    private static func checkName(_ db: any SQLDatabase, _ group: Group) async throws {
        guard !group.displayName.trimmingCharacters(in: .whitespaces).isEmpty else {
            throw KilnError.invalidParameter("A group needs a displayName.")
        }
        let taken = try await db.select().column("group_id").from("account_groups").where("account_id", .equal, group.accountID)
            .where("display_name", .equal, group.displayName).where("group_id", .notEqual, group.groupID).first()
        guard taken == nil else { throw KilnError(.resourceAlreadyExists, "Group with name \(group.displayName) already exists.") }
    }

    /// Inserts `members` (duplicates once) after checking each is a principal of the group's account and
    /// that no group among them contains the group already.
    private static func setMembers(_ db: any SQLDatabase, of group: Group, to members: [Int64]) async throws {
        var seen = Set<Int64>()
        let groups = try await Self.groups(db, accountID: group.accountID)
        let byID = Dictionary(groups.map { ($0.groupID, $0) }) { first, _ in first }
        for member in members where seen.insert(member).inserted {
            if member == group.groupID { throw KilnError.invalidParameter("A group cannot be a member of itself.") }
            if byID[member] != nil {
                if contains(member, group.groupID, in: byID) {
                    throw KilnError.invalidParameter("Group \(member) contains group \(group.groupID): a group cannot contain itself.")
                }
            } else {
                let user = try await db.select().column("user_id").from("users").where("user_id", .equal, member)
                    .where("account_id", .equal, group.accountID).first()
                guard user != nil else { throw KilnError.invalidParameter("Member \(member) is not a principal of this account.") }
            }
            try await db.insert(into: "group_members").columns("group_id", "member_id").values(SQLBind(group.groupID), SQLBind(member)).run()
        }
    }

    /// Whether `outer` contains `inner`, directly or through nested groups.
    private static func contains(_ outer: Int64, _ inner: Int64, in groups: [Int64: Group]) -> Bool {
        var pending = [outer]
        var visited = Set<Int64>()
        while let next = pending.popLast() {
            guard visited.insert(next).inserted, let group = groups[next] else { continue }
            if group.members.contains(inner) { return true }
            pending += group.members
        }
        return false
    }

    private static func groups(_ db: any SQLDatabase, accountID: String, id: Int64? = nil) async throws -> [Group] {
        var query = db.select().column("*").from("account_groups").where("account_id", .equal, accountID)
        if let id { query = query.where("group_id", .equal, id) }
        var groups = try await query.orderBy("created_at").orderBy("group_id").all().map { row in
            Group(
                groupID: try row.decode(column: "group_id", as: Int64.self), accountID: accountID,
                displayName: try row.decode(column: "display_name", as: String.self),
                externalID: try row.decode(column: "external_id", as: String?.self),
                entitlements: StringList.decode(try row.decode(column: "entitlements", as: String.self)),
                roles: StringList.decode(try row.decode(column: "roles", as: String.self)), members: [],
                createdAt: try row.decode(column: "created_at", as: Int64.self))
        }
        guard !groups.isEmpty else { return [] }
        let rows = try await db.select().columns("group_id", "member_id").from("group_members")
            .where(SQLIdentifier("group_id"), .in, SQLBind.group(groups.map(\.groupID))).all()
        var members: [Int64: [Int64]] = [:]
        for row in rows {
            members[try row.decode(column: "group_id", as: Int64.self), default: []].append(try row.decode(column: "member_id", as: Int64.self))
        }
        for index in groups.indices { groups[index].members = (members[groups[index].groupID] ?? []).sorted() }
        return groups
    }
}
