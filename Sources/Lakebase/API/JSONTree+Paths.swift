import KilnCore

extension JSONTree {
    /// The value at a dotted path of object members.
    func value(at path: [String]) -> JSONTree? {
        var current: JSONTree? = self
        for key in path { current = current?[key] }
        return current
    }

    /// Sets the value at a path, making intermediate objects; `nil` removes the member.
    mutating func setValue(_ value: JSONTree?, at path: [String]) {
        guard let key = path.first else { return }
        guard case .object(var members) = self else { return }
        let index = members.firstIndex { $0.key == key }
        if path.count == 1 {
            if let value {
                if let index { members[index].value = value } else { members.append(Member(key, value)) }
            } else if let index {
                members.remove(at: index)
            }
        } else {
            var child = index.map { members[$0].value } ?? .object([])
            if case .object = child {} else { child = .object([]) }
            child.setValue(value, at: Array(path.dropFirst()))
            if let index { members[index].value = child } else { members.append(Member(key, child)) }
        }
        self = .object(members)
    }

    /// An object from members, leaving out the `nil` values.
    static func compact(_ members: [(String, JSONTree?)]) -> JSONTree {
        .object(members.compactMap { key, value in value.map { Member(key, $0) } })
    }

    /// The object's members as a dictionary of strings (for `pg_settings`).
    var stringMap: [String: String]? {
        guard case .object(let members) = self else { return nil }
        var map: [String: String] = [:]
        for member in members {
            guard let text = member.value.stringValue else { return nil }
            map[member.key] = text
        }
        return map
    }
}
