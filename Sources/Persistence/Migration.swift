/// One schema change: a version, a name and the DDL statements for each engine.
public struct Migration: Sendable {
    /// Versions start at 1 and increase by one.
    public var version: Int
    public var name: String
    /// The statements to run, in order, for the given engine.
    public var statements: @Sendable (DatabaseEngine) -> [String]

    public init(version: Int, name: String, statements: @escaping @Sendable (DatabaseEngine) -> [String]) {
        self.version = version
        self.name = name
        self.statements = statements
    }
}

/// Dialect helpers for DDL.
extension DatabaseEngine {
    /// A column type for raw bytes.
    public var blobType: String { self == .postgres ? "BYTEA" : "BLOB" }
    /// A text type that sorts and compares byte-wise, so `path` range scans use the index on both engines.
    public var byteOrderedText: String { self == .postgres ? "TEXT COLLATE \"C\"" : "TEXT" }
}
