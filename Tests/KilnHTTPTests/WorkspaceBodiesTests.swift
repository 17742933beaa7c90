import Foundation
import NotebookFormats
import Testing
@testable import WorkspaceFiles

@testable import KilnHTTP

/// get-status and list write their JSON without an encoder: it must say what `JSONEncoder` says.
@Suite struct WorkspaceBodiesTests {
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
            var body = ObjectInfoBody(object)
            body.reposExportFormat = object.objectType == .notebook ? "SOURCE" : nil
            #expect(try Self.parsed(body.json()) == Self.parsed(JSONResponse.encode(body)))
        }
    }

    @Test func aListIsWhatTheEncoderWrites() throws {
        let list = ListResponse(objects: Self.objects.map(ObjectInfoBody.init))
        #expect(try Self.parsed(list.json()) == Self.parsed(JSONResponse.encode(list)))
        #expect(ListResponse(objects: nil).json() == Array("{}".utf8))
    }
}
