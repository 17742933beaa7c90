import Foundation
import Hummingbird
import KilnCore
import NIOCore
import WorkspaceFiles
import NotebookFormats

/// `ObjectInfo` on the wire, as get-status and list answer it (Databricks' field names), written straight from
/// the object without an encoder or an intermediate value: a list of 1,000 objects made 1,000 of them, each
/// with its `resource_id` as a string. `WorkspaceBodiesTests` checks it against what `JSONEncoder` writes.
enum ObjectInfoJSON {
    /// One object: `object_type`, `path`, `object_id`, `resource_id` (the id as a string), `language`,
    /// `created_at` and `modified_at` (not for a folder), `size` (for a file), and `repos_export_format`
    /// when given (get-status with `return_export_info=true`, for notebooks).
    static func write(_ object: ObjectInfo, reposExportFormat: String? = nil, to json: inout JSONWriter) {
        let hasTimes = object.objectType != .directory
        json.beginObject()
        json.member("object_type", object.objectType.rawValue)
        json.member("path", object.path.value)
        json.member("object_id", object.objectID)
        json.member("resource_id", quoting: object.objectID)
        json.member("language", object.language?.rawValue)
        json.member("created_at", hasTimes ? object.createdAt : nil)
        json.member("modified_at", hasTimes ? object.modifiedAt : nil)
        json.member("size", object.objectType == .file ? object.size : nil)
        json.member("repos_export_format", reposExportFormat)
        json.endObject()
    }

    /// get-status's answer.
    static func json(_ object: ObjectInfo, reposExportFormat: String? = nil) -> [UInt8] {
        // About 200 bytes besides the path, as in `list`: room enough not to grow the buffer as it is written.
        var json = JSONWriter(capacity: 200 + object.path.value.utf8.count)
        write(object, reposExportFormat: reposExportFormat, to: &json)
        return json.bytes
    }

    /// list's answer: `{"objects":[…]}`, or `{}` for an empty folder as Databricks answers.
    static func list(_ objects: [ObjectInfo]) -> [UInt8] {
        // About 200 bytes an object, paths included.
        var json = JSONWriter(capacity: 64 + objects.count * 200)
        json.beginObject()
        if !objects.isEmpty {
            json.beginArray("objects")
            for object in objects { write(object, to: &json) }
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
        Response(status: .ok, headers: JSONResponse.headers(), body: .init(byteBuffer: exported.jsonBody ?? exported.json()))
    }
}
