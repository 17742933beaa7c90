import Foundation
import NotebookFormats
import Testing
@testable import WorkspaceFiles

@testable import KilnHTTP

/// get-status and list write their JSON without an encoder: it must say what `JSONEncoder` says of the
/// Databricks fields, given here as `Encodable` structs (the oracle).
@Suite struct WorkspaceBodiesTests {
    /// `ObjectInfo` as Databricks names its fields, for `JSONEncoder`.
    struct ObjectInfoBody: Encodable {
        var objectType: String
        var path: String
        var objectID: Int64
        var resourceID: String
        var language: String?
        var createdAt: Int64?
        var modifiedAt: Int64?
        var size: Int64?
        var reposExportFormat: String?

        init(_ object: ObjectInfo, reposExportFormat: String? = nil) {
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
            self.reposExportFormat = reposExportFormat
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

    struct ListResponse: Encodable {
        var objects: [ObjectInfoBody]?
    }

    static let objects = [
        ObjectInfo(
            objectID: 1, path: WorkspacePath(canonical: "/Users/ann@example.com/a \"quoted\"\\ name\t✓"),
            objectType: .notebook, language: .python, size: 10, createdAt: 1_700_000_000_000, modifiedAt: 1_700_000_000_001),
        ObjectInfo(
            objectID: 2, path: WorkspacePath(canonical: "/Shared/dir"), objectType: .directory, language: nil, size: 0,
            createdAt: 5, modifiedAt: 6),
        ObjectInfo(
            objectID: Int64.max, path: WorkspacePath(canonical: "/Shared/f\u{1}.txt"), objectType: .file, language: nil,
            size: 3, createdAt: 7, modifiedAt: 8),
    ]

    static func parsed(_ bytes: [UInt8]) throws -> NSDictionary {
        try #require(try JSONSerialization.jsonObject(with: Data(bytes)) as? NSDictionary)
    }

    @Test func anObjectIsWhatTheEncoderWrites() throws {
        for object in Self.objects {
            let format = object.objectType == .notebook ? "SOURCE" : nil
            #expect(
                try Self.parsed(ObjectInfoJSON.json(object, reposExportFormat: format))
                    == Self.parsed(JSONResponse.encode(ObjectInfoBody(object, reposExportFormat: format))))
        }
    }

    /// The members in Databricks' order, byte for byte (the comparisons above read them into dictionaries).
    @Test func membersComeInDatabricksOrder() {
        let notebook = ObjectInfo(
            objectID: 1_234_567_890_123_456, path: WorkspacePath(canonical: "/Users/a/nb"), objectType: .notebook,
            language: .python, size: 10, createdAt: 100, modifiedAt: 200)
        #expect(
            String(decoding: ObjectInfoJSON.json(notebook, reposExportFormat: "SOURCE"), as: UTF8.self)
                == #"{"object_type":"NOTEBOOK","path":"/Users/a/nb","object_id":1234567890123456,"resource_id":"1234567890123456","language":"PYTHON","created_at":100,"modified_at":200,"repos_export_format":"SOURCE"}"#
        )
        let folder = ObjectInfo(
            objectID: 2, path: WorkspacePath(canonical: "/Shared"), objectType: .directory, language: nil, size: 0,
            createdAt: 5, modifiedAt: 6)
        let file = ObjectInfo(
            objectID: 3, path: WorkspacePath(canonical: "/Shared/f"), objectType: .file, language: nil, size: 0,
            createdAt: 7, modifiedAt: 8)
        #expect(
            String(decoding: ObjectInfoJSON.list([folder, file]), as: UTF8.self)
                == #"{"objects":[{"object_type":"DIRECTORY","path":"/Shared","object_id":2,"resource_id":"2"},{"object_type":"FILE","path":"/Shared/f","object_id":3,"resource_id":"3","created_at":7,"modified_at":8,"size":0}]}"#
        )
    }

    @Test func aListIsWhatTheEncoderWrites() throws {
        let list = ListResponse(objects: Self.objects.map { ObjectInfoBody($0) })
        #expect(try Self.parsed(ObjectInfoJSON.list(Self.objects)) == Self.parsed(JSONResponse.encode(list)))
        #expect(ObjectInfoJSON.list([]) == Array("{}".utf8))
        #expect(JSONResponse.encode(ListResponse(objects: nil)) == Array("{}".utf8))
    }
}
