import Foundation
import Hummingbird
import KilnCore
import NIOCore
import WorkspaceFiles
import NotebookFormats

/// `ObjectInfo` on the wire (Databricks' field names), written without an encoder (`json`).
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

    /// The object as JSON, member for member what `JSONEncoder` writes.
    func write(to json: inout JSONWriter) {
        json.beginObject()
        json.member("object_type", objectType)
        json.member("path", path)
        json.member("object_id", objectID)
        json.member("resource_id", quoting: objectID)
        json.member("language", language)
        json.member("created_at", createdAt)
        json.member("modified_at", modifiedAt)
        json.member("size", size)
        json.member("repos_export_format", reposExportFormat)
        json.endObject()
    }

    func json() -> [UInt8] {
        var json = JSONWriter()
        write(to: &json)
        return json.bytes
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

    func json() -> [UInt8] {
        // About 200 bytes an object, paths included.
        var json = JSONWriter(capacity: 64 + (objects?.count ?? 0) * 200)
        json.beginObject()
        if let objects {
            json.beginArray("objects")
            for object in objects { object.write(to: &json) }
            json.endArray()
        }
        json.endObject()
        return json.bytes
    }
}

/// The JSON answer of `workspace/export` (`ExportedObject.json()`; the one kept with the export when it was).
struct ExportResponse {
    var exported: ExportedObject

    init(_ exported: ExportedObject) { self.exported = exported }

    func response() -> Response {
        Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: exported.jsonBody ?? exported.json()))
    }
}
