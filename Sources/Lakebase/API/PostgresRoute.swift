import KilnCore

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
    /// `projects/p/branches/b/snapshot-schedule`: the branch's snapshot schedule (GET, PATCH).
    case snapshotSchedule(branch: ResourceName)
    /// The Data API, catalogs, synced tables, CDF: not implemented yet.
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
            if let kind = ResourceKind.children(of: name?.kind).first(where: { $0.collection == segment }) {
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
            if rest.count == 1, current.kind == .branch, segment == "snapshot-schedule" {
                self = .snapshotSchedule(branch: current)
            } else if ["data-api", "cdf-configs"].contains(segment) {
                self = .unimplemented(segment)
            } else if rest.count == 1,
                (current.kind == .project || current.kind == .branch) && segment == "undelete"
                    || current.kind == .role && segment == "password"
            {
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
