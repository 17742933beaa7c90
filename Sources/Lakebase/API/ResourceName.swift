import KilnCore

/// The kinds of Lakebase resource Kiln stores: projects, their branches and snapshots, and each branch's
/// endpoints, roles and databases.
public enum ResourceKind: String, Sendable, CaseIterable {
    case project, branch, endpoint, role, database, snapshot

    /// The collection segment in names (`branches`).
    var collection: String {
        switch self {
        case .project: "projects"
        case .branch: "branches"
        case .endpoint: "endpoints"
        case .role: "roles"
        case .database: "databases"
        case .snapshot: "snapshots"
        }
    }

    /// The word in messages ("project id not found").
    var noun: String { rawValue }

    /// The id field (`project_id`).
    var idField: String { rawValue + "_id" }

    /// The kind whose collection this kind lives in (`nil` for projects).
    var parentKind: ResourceKind? {
        switch self {
        case .project: nil
        case .branch, .snapshot: .project
        case .endpoint, .role, .database: .branch
        }
    }

    /// The kinds whose collections sit directly under a resource of this kind (under the root for nil).
    static func children(of parent: ResourceKind?) -> [ResourceKind] {
        allCases.filter { $0.parentKind == parent }
    }

    /// The `@type` of its operations' metadata and response.
    var typeName: String { rawValue.prefix(1).uppercased() + rawValue.dropFirst() }
}

/// A resource name: `projects/p`, `projects/p/branches/b`, `projects/p/branches/b/roles/r`,
/// `projects/p/snapshots/s`, ….
public struct ResourceName: Sendable, Hashable, CustomStringConvertible {
    public var kind: ResourceKind
    /// The ids from the project down to this resource.
    public var ids: [String]

    public var description: String {
        let kinds = sequence(first: kind, next: \.parentKind).reversed()
        return zip(kinds, ids).map { "\($0.collection)/\($1)" }.joined(separator: "/")
    }

    public var id: String { ids[ids.count - 1] }
    public var projectID: String { ids[0] }

    /// The project this resource belongs to (itself for a project).
    public var project: ResourceName { ResourceName(kind: .project, ids: [ids[0]]) }

    /// The branch this resource belongs to (itself for a branch; a project or a snapshot has none, and is
    /// given its project's name). Endpoints, roles and databases always have one: use this rather than `parent!`.
    public var branch: ResourceName {
        switch kind {
        case .project, .snapshot: project
        default: ResourceName(kind: .branch, ids: Array(ids.prefix(2)))
        }
    }

    /// The parent resource (`nil` for a project).
    public var parent: ResourceName? {
        guard let parentKind = kind.parentKind else { return nil }
        return ResourceName(kind: parentKind, ids: Array(ids.dropLast()))
    }

    /// A child of this resource.
    func child(_ kind: ResourceKind, _ id: String) -> ResourceName {
        ResourceName(kind: kind, ids: ids + [id])
    }

    /// Parses a full resource name; nil when it is not one.
    public init?(_ text: String) {
        let segments = text.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        guard let route = PostgresRoute(segments: segments), case .resource(let name) = route else { return nil }
        self = name
    }

    init(kind: ResourceKind, ids: [String]) {
        self.kind = kind
        self.ids = ids
    }
}
