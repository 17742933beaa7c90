import KilnCore

/// The id rules of Lakebase resources.
enum ResourceID {
    /// Projects, branches, endpoints: 1–63 characters `[a-z0-9-]`, starting with a letter, not ending
    /// with a hyphen. Roles and databases: the same with at least 4 characters (RFC 1123).
    static func validate(_ id: String, kind: ResourceKind) throws(KilnError) {
        let minimum = (kind == .role || kind == .database) ? 4 : 1
        let bytes = Array(id.utf8)
        let valid =
            (minimum...63).contains(bytes.count)
            && (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(bytes[0])
            && bytes.allSatisfy {
                (UInt8(ascii: "a")...UInt8(ascii: "z")).contains($0) || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) || $0 == UInt8(ascii: "-")
            }
            && bytes.last != UInt8(ascii: "-")
        guard valid else {
            throw KilnError.invalidParameter(
                "Invalid \(kind.idField) '\(id)': it must be \(minimum) to 63 characters of lower-case letters, digits and hyphens, start with a letter and not end with a hyphen."
            )
        }
    }

    /// Lakebase's message for a missing required id.
    static func required(_ field: String) -> KilnError {
        KilnError.invalidParameter("Field '\(field)' is required, expected non-default value (not \"\")!")
    }
}
