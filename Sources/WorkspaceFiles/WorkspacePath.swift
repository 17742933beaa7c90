public import KilnCore

/// A validated, normalised absolute path in a workspace tree.
///
/// `/Workspace/…` is accepted as an alias of `/…`; a trailing slash is dropped; `.`/`..` components,
/// empty components, NUL and control characters are refused.
public struct WorkspacePath: Sendable, Hashable, CustomStringConvertible {
    /// The canonical text, always starting with `/`; the root is `/`.
    public let value: String

    /// Paths longer than this many UTF-8 bytes are refused.
    public static let maximumLength = 4096
    /// Names (one component) longer than this many UTF-8 bytes are refused.
    public static let maximumNameLength = 255

    /// The root of the tree.
    public static let root = WorkspacePath(canonical: "/")

    /// A path already in canonical form, such as one read back from the store.
    init(canonical: String) {
        self.value = canonical
    }

    /// Validates and normalises a path sent by a client.
    public init(_ raw: String) throws(KilnError) {
        guard !raw.isEmpty else { throw KilnError.invalidParameter("Path must not be empty.") }
        guard raw.utf8.first == Self.slash else {
            throw KilnError.invalidParameter("Path (\(raw)) must be absolute: it must start with '/'.")
        }
        guard raw.utf8.count <= Self.maximumLength else {
            throw KilnError.invalidParameter("Path is longer than \(Self.maximumLength) bytes.")
        }
        // Control characters are single bytes in UTF-8: every byte of a longer sequence is 0x80 or more.
        if raw.utf8.contains(where: { $0 < 0x20 || $0 == 0x7F }) {
            throw KilnError.invalidParameter("Path (\(raw.debugDescription)) contains a NUL or control character.")
        }
        // One pass over the bytes after the first `/`, component by component, at the byte `/` (not by
        // `Character`: a combining mark after a slash does not hide it), with nothing allocated unless the path
        // is rewritten (splitting into an array of substrings cost 1 % of a get-status).
        var rest = raw.utf8.dropFirst()
        var isCanonical = true
        if rest.last == Self.slash {
            rest = rest.dropLast()
            isCanonical = false
            if rest.isEmpty { throw KilnError.invalidParameter("Path (\(raw)) contains an empty component ('//').") }
        }
        var start = rest.startIndex
        while !rest.isEmpty {
            let end = rest[start...].firstIndex(of: Self.slash) ?? rest.endIndex
            let component = rest[start..<end]
            if component.isEmpty {
                throw KilnError.invalidParameter("Path (\(raw)) contains an empty component ('//').")
            }
            if component.count <= 2, component.allSatisfy({ $0 == UInt8(ascii: ".") }) {
                throw KilnError.invalidParameter("Path (\(raw)) must not contain '.' or '..' components.")
            }
            if component.count > Self.maximumNameLength {
                throw KilnError.invalidParameter("A name in path (\(raw)) is longer than \(Self.maximumNameLength) bytes.")
            }
            guard end < rest.endIndex else { break }
            start = rest.index(after: end)
        }
        let workspace = "Workspace".utf8
        if rest.starts(with: workspace) {
            let afterName = rest.index(rest.startIndex, offsetBy: workspace.count)
            if afterName == rest.endIndex {
                rest = rest[afterName...]
                isCanonical = false
            } else if rest[afterName] == Self.slash {
                rest = rest[rest.index(after: afterName)...]
                isCanonical = false
            }
        }
        self.value = isCanonical ? raw : "/" + String(Substring(rest))
    }

    /// The separator of components, found as a byte.
    private static let slash = UInt8(ascii: "/")

    public var isRoot: Bool { value == "/" }

    /// The containing folder; the root's parent is the root.
    public var parent: WorkspacePath {
        guard let slash = value.utf8.lastIndex(of: Self.slash), slash != value.startIndex else { return .root }
        return WorkspacePath(canonical: String(value[..<slash]))
    }

    /// The last component; empty for the root.
    public var name: String {
        guard let slash = value.utf8.lastIndex(of: Self.slash) else { return value }
        return String(value[value.utf8.index(after: slash)...])
    }

    /// The child with the given name (which must be a valid single component).
    public func appending(_ name: String) -> WorkspacePath {
        WorkspacePath(canonical: isRoot ? "/" + name : value + "/" + name)
    }

    /// This path and every ancestor below the root, outermost first (`/a`, `/a/b`, `/a/b/c`).
    /// Each ancestor is the path's bytes up to one of its slashes (a canonical path has no empty component),
    /// cut from the bytes, not the characters: a combining mark after a slash does not hide it.
    public var lineage: [WorkspacePath] {
        guard !isRoot else { return [] }
        var text = value
        // From the contiguous bytes, into an array made once at its size: a user's get-status walks the
        // lineage of its path for grants (`ObjectGrants.inherited`).
        return text.withUTF8 { bytes in
            var result: [WorkspacePath] = []
            result.reserveCapacity(bytes.count { $0 == Self.slash })
            for index in bytes.indices.dropFirst() where bytes[index] == Self.slash {
                result.append(WorkspacePath(canonical: String(decoding: UnsafeBufferPointer(rebasing: bytes[..<index]), as: UTF8.self)))
            }
            result.append(self)
            return result
        }
    }

    /// The file extension of the name (after the last dot, not counting a leading dot), if any.
    public var fileExtension: String? {
        let name = self.name
        guard let dot = name.utf8.lastIndex(of: UInt8(ascii: ".")), dot != name.startIndex else { return nil }
        let ext = name[name.utf8.index(after: dot)...]
        return ext.isEmpty ? nil : String(ext)
    }

    /// The path with the file extension removed.
    public var removingExtension: WorkspacePath {
        guard let ext = fileExtension else { return self }
        return WorkspacePath(canonical: String(Substring(value.utf8.dropLast(ext.utf8.count + 1))))
    }

    public var description: String { value }
}
