public import NotebookFormats

/// The kinds of object in a workspace tree.
public enum ObjectType: String, Sendable, Codable {
    case notebook = "NOTEBOOK"
    case directory = "DIRECTORY"
    case file = "FILE"
}

/// Metadata of one object, as list and get-status report it.
public struct ObjectInfo: Sendable, Equatable {
    public var objectID: Int64
    public var path: WorkspacePath
    public var objectType: ObjectType
    /// Set for notebooks only.
    public var language: NotebookLanguage?
    /// Bytes of content: the file's bytes, or the notebook's SOURCE rendering.
    public var size: Int64
    /// Epoch milliseconds.
    public var createdAt: Int64
    public var modifiedAt: Int64

    /// The root folder, which always exists and has object id 0 as in Databricks.
    public static let root = ObjectInfo(
        objectID: 0, path: .root, objectType: .directory, language: nil, size: 0, createdAt: 0, modifiedAt: 0
    )
}
