import KilnCore

/// The five kinds of Lakebase resource Kiln stores.
public enum ResourceKind: String, Sendable, CaseIterable {
    case project, branch, endpoint, role, database

    /// The collection segment in names (`branches`).
    var collection: String {
        switch self {
        case .project: "projects"
        case .branch: "branches"
        case .endpoint: "endpoints"
        case .role: "roles"
        case .database: "databases"
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
        case .branch: .project
        case .endpoint, .role, .database: .branch
        }
    }

    /// The `@type` of its operations' metadata and response.
    var typeName: String { rawValue.prefix(1).uppercased() + rawValue.dropFirst() }
}

/// A resource name: `projects/p`, `projects/p/branches/b`, `projects/p/branches/b/roles/r`, ….
public struct ResourceName: Sendable, Hashable, CustomStringConvertible {
    public var kind: ResourceKind
    /// The ids from the project down to this resource.
    public var ids: [String]

    public var description: String {
        var kinds: [ResourceKind] = [.project]
        if ids.count > 1 { kinds.append(.branch) }
        if ids.count > 2 { kinds.append(kind) }
        return zip(kinds, ids).map { "\($0.collection)/\($1)" }.joined(separator: "/")
    }

    public var id: String { ids[ids.count - 1] }
    public var projectID: String { ids[0] }

    /// The project this resource belongs to (itself for a project).
    public var project: ResourceName { ResourceName(kind: .project, ids: [ids[0]]) }

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

/// What a path under `/api/2.0/postgres/` addresses.
public enum PostgresRoute: Sendable, Equatable {
    /// `…/projects`, `…/projects/p/branches`, …: list (GET) or create (POST).
    case collection(parent: ResourceName?, kind: ResourceKind)
    case resource(ResourceName)
    /// `…/undelete`, `…/password`.
    case action(ResourceName, String)
    /// `<resource name>/operations/<id>`.
    case operation(String)
    /// `…/credentials`.
    case credentials
    /// Snapshots, schedules, Data API, catalogs, synced tables, CDF: not implemented yet.
    case unimplemented(String)

    public init?(segments: [String]) {
        guard let first = segments.first, !segments.contains("") else { return nil }
        if segments.count >= 2, segments[segments.count - 2] == "operations" {
            self = .operation(segments.joined(separator: "/"))
            return
        }
        switch first {
        case "credentials" where segments.count == 1:
            self = .credentials
            return
        case "catalogs", "synced_tables":
            self = .unimplemented(first)
            return
        case "projects":
            break
        default:
            return nil
        }
        var name: ResourceName?
        var index = 0
        while index < segments.count {
            let segment = segments[index]
            let expected: [ResourceKind] = switch name?.kind {
            case nil: [.project]
            case .project: [.branch]
            case .branch: [.endpoint, .role, .database]
            default: []
            }
            if let kind = expected.first(where: { $0.collection == segment }) {
                if index + 1 == segments.count {
                    self = .collection(parent: name, kind: kind)
                    return
                }
                name = name.map { $0.child(kind, segments[index + 1]) } ?? ResourceName(kind: .project, ids: [segments[index + 1]])
                index += 2
                continue
            }
            guard let current = name else { return nil }
            let rest = Array(segments[index...])
            if ["snapshots", "snapshot-schedule", "data-api", "cdf-configs"].contains(segment) {
                self = .unimplemented(segment)
            } else if rest.count == 1, (current.kind == .project || current.kind == .branch) && segment == "undelete"
                        || current.kind == .role && segment == "password" {
                self = .action(current, segment)
            } else {
                return nil
            }
            return
        }
        guard let name else { return nil }
        self = .resource(name)
    }
}

/// The id rules of Lakebase resources.
enum ResourceID {
    /// Projects, branches, endpoints: 1–63 characters `[a-z0-9-]`, starting with a letter, not ending
    /// with a hyphen. Roles and databases: the same with at least 4 characters (RFC 1123).
    static func validate(_ id: String, kind: ResourceKind) throws(KilnError) {
        let minimum = (kind == .role || kind == .database) ? 4 : 1
        let bytes = Array(id.utf8)
        let valid = (minimum...63).contains(bytes.count)
            && (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(bytes[0])
            && bytes.allSatisfy { (UInt8(ascii: "a")...UInt8(ascii: "z")).contains($0) || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) || $0 == UInt8(ascii: "-") }
            && bytes.last != UInt8(ascii: "-")
        guard valid else {
            throw KilnError.invalidParameter(
                "Invalid \(kind.idField) '\(id)': it must be \(minimum) to 63 characters of lower-case letters, digits and hyphens, start with a letter and not end with a hyphen.")
        }
    }

    /// Lakebase's message for a missing required id.
    static func required(_ field: String) -> KilnError {
        KilnError.invalidParameter("Field '\(field)' is required, expected non-default value (not \"\")!")
    }
}
