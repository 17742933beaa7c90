import Foundation
import Hummingbird
import NIOCore
import WorkspaceFiles
import NotebookFormats

/// `ObjectInfo` on the wire (Databricks' field names).
struct ObjectInfoBody: Encodable {
    var objectType: String
    var path: String
    var objectID: Int64
    var resourceID: String
    var language: String?
    var createdAt: Int64?
    var modifiedAt: Int64?
    var size: Int64?
    /// Set by get-status with `return_export_info=true`, for notebooks.
    var reposExportFormat: String?

    init(_ object: ObjectInfo) {
        objectType = object.objectType.rawValue
        path = object.path.value
        objectID = object.objectID
        resourceID = String(object.objectID)
        language = object.language?.rawValue
        if object.objectType != .directory {
            createdAt = object.createdAt
            modifiedAt = object.modifiedAt
        }
        if object.objectType == .file {
            size = object.size
        }
    }

    enum CodingKeys: String, CodingKey {
        case objectType = "object_type"
        case path
        case objectID = "object_id"
        case resourceID = "resource_id"
        case language
        case createdAt = "created_at"
        case modifiedAt = "modified_at"
        case size
        case reposExportFormat = "repos_export_format"
    }
}

/// `{"objects":[…]}`, or `{}` for an empty folder as Databricks answers.
struct ListResponse: Encodable {
    var objects: [ObjectInfoBody]?
}

/// `{"content":"<base64>","file_type":"py"}`. Written directly: base64 and file extensions need no JSON
/// escaping, and a 10 MB export should not go through an encoder character by character.
struct ExportResponse {
    var content: Data
    var fileType: String?

    func response() -> Response {
        var buffer = ByteBuffer()
        buffer.reserveCapacity(content.count * 4 / 3 + 64)
        buffer.writeString(#"{"content":""#)
        buffer.writeBytes(content.base64EncodedData())
        buffer.writeString("\"")
        if let fileType {
            buffer.writeString(#","file_type":"#)
            buffer.writeBytes(JSONResponse.encode(fileType))
        }
        buffer.writeString("}")
        return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: buffer))
    }
}
