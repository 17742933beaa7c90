import Accounts
import Foundation
import HTTPTypes
import KilnCore
import NIOCore
import Testing

/// The Workspace API (`/api/2.0/workspace/…`) over HTTP: the encodings clients send (JSON with base64
/// content, `text/json`, multipart, form-encoded queries) and the error codes the SDK tells apart.
@Suite struct WorkspaceRoutesTests {
    static let home = "/Users/\(TestServer.adminUserName)"

    func importNotebook(_ server: TestServer, _ path: String, _ source: String = "print(1)\n", overwrite: Bool = false) async throws -> Reply {
        try await server.call(
            .post, "/api/2.0/workspace/import",
            json: """
                {"path": "\(path)", "format": "SOURCE", "language": "PYTHON", "overwrite": \(overwrite),
                 "content": "\(Data(source.utf8).base64EncodedString())"}
                """)
    }

    func status(_ server: TestServer, _ path: String) async throws -> Reply {
        try await server.call(.get, "/api/2.0/workspace/get-status?path=\(Self.formEncoded(path))")
    }

    /// As `requests` encodes a query value: `/` as `%2F`, a space as `+`.
    static func formEncoded(_ text: String) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~ ")
        return text.addingPercentEncoding(withAllowedCharacters: allowed)!.replacingOccurrences(of: " ", with: "+")
    }

    @Test func mkdirsMakesEveryMissingFolderAndAnswersAnEmptyObject() async throws {
        try await TestServer.run { server in
            let made = try await server.call(.post, "/api/2.0/workspace/mkdirs", json: #"{"path": "/a/b/c"}"#)
            #expect(made.status == .ok)
            #expect(made.text == "{}")
            for path in ["/a", "/a/b", "/a/b/c"] {
                let reply = try await status(server, path)
                #expect(reply["object_type"]?.stringValue == "DIRECTORY", "\(path)")
                #expect(reply["object_id"]?.int64Value != nil)
            }
            // Again is fine.
            #expect(try await server.call(.post, "/api/2.0/workspace/mkdirs", json: #"{"path": "/a/b/c"}"#).status == .ok)
        }
    }

    @Test func anImportedNotebookHasItsStatusAndExportsAsSource() async throws {
        try await TestServer.run { server in
            let path = Self.home + "/nb"
            let imported = try await importNotebook(server, path)
            #expect(imported.status == .ok)
            #expect(imported.text == "{}")

            let info = try await status(server, path)
            #expect(info["object_type"]?.stringValue == "NOTEBOOK")
            #expect(info["language"]?.stringValue == "PYTHON")
            #expect(info["path"]?.stringValue == path)
            #expect(info["object_id"]?.int64Value != nil)

            let exported = try await server.call(.get, "/api/2.0/workspace/export?path=\(Self.formEncoded(path))&format=SOURCE")
            #expect(exported.status == .ok)
            #expect(exported["file_type"]?.stringValue == "py")
            let content = try #require(exported["content"]?.stringValue.flatMap { Data(base64Encoded: $0) })
            let source = String(decoding: content, as: UTF8.self)
            #expect(source.hasPrefix("# Databricks notebook source"))
            #expect(source.contains("print(1)"))

            let direct = try await server.call(.get, "/api/2.0/workspace/export?path=\(Self.formEncoded(path))&direct_download=true")
            #expect(direct.status == .ok)
            #expect(direct.headers[.contentType] == "application/octet-stream")
            #expect(Data(direct.bytes) == content)
        }
    }

    @Test func aQueryValueReadsPlusAsASpace() async throws {
        try await TestServer.run { server in
            let path = Self.home + "/nb with space&x=1"
            #expect(try await importNotebook(server, path).status == .ok)
            let uri = "/api/2.0/workspace/get-status?path=%2FUsers%2Fadmin%40example.com%2Fnb+with+space%26x%3D1"
            let reply = try await server.call(.get, uri)
            #expect(reply.status == .ok)
            #expect(reply["path"]?.stringValue == path)
        }
    }

    @Test func theLegacyCLIsTextJSONAndAGETWithABodyAreAccepted() async throws {
        try await TestServer.run { server in
            let made = try await server.call(
                .post, "/api/2.0/workspace/mkdirs", json: #"{"path": "/legacy"}"#, headers: [.contentType: "text/json"])
            #expect(made.status == .ok)
            let listed = try await server.call(
                .get, "/api/2.0/workspace/list", json: #"{"path": "/"}"#, headers: [.contentType: "text/json"])
            #expect(listed.status == .ok)
            let paths = listed["objects"]?.arrayValue?.compactMap { $0["path"]?.stringValue } ?? []
            #expect(paths.contains("/legacy"))
        }
    }

    @Test func bodyParametersWinOverQueryParameters() async throws {
        try await TestServer.run { server in
            let reply = try await server.call(.get, "/api/2.0/workspace/get-status?path=%2Fnope", json: #"{"path": "\#(Self.home)"}"#)
            #expect(reply.status == .ok)
            #expect(reply["path"]?.stringValue == Self.home)
        }
    }

    @Test func aListHasEveryChildAndAnEmptyFolderListsAsAnEmptyObject() async throws {
        try await TestServer.run { server in
            #expect(try await server.call(.post, "/api/2.0/workspace/mkdirs", json: #"{"path": "/p/empty"}"#).status == .ok)
            #expect(try await importNotebook(server, "/p/nb").status == .ok)
            let list = try await server.call(.get, "/api/2.0/workspace/list?path=%2Fp")
            let objects = try #require(list["objects"]?.arrayValue)
            let byPath = Dictionary(
                uniqueKeysWithValues: objects.compactMap { object in
                    object["path"]?.stringValue.map { ($0, object["object_type"]?.stringValue ?? "") }
                })
            #expect(byPath == ["/p/empty": "DIRECTORY", "/p/nb": "NOTEBOOK"])
            #expect(objects.allSatisfy { $0["object_id"] != nil })

            let empty = try await server.call(.get, "/api/2.0/workspace/list?path=%2Fp%2Fempty")
            #expect(empty.status == .ok)
            #expect(empty.text == "{}")
        }
    }

    @Test func aMissingPathIsResourceDoesNotExist() async throws {
        try await TestServer.run { server in
            for uri in [
                "/api/2.0/workspace/get-status?path=/nope", "/api/2.0/workspace/list?path=/nope",
                "/api/2.0/workspace/export?path=/nope",
            ] {
                let reply = try await server.call(.get, uri)
                #expect(reply.status == .notFound, "\(uri)")
                #expect(reply.errorCode == "RESOURCE_DOES_NOT_EXIST", "\(uri)")
                #expect(reply.message == "Path (/nope) doesn't exist.")
            }
            let delete = try await server.call(.post, "/api/2.0/workspace/delete", json: #"{"path": "/nope"}"#)
            #expect(delete.errorCode == "RESOURCE_DOES_NOT_EXIST")
            let orphan = try await importNotebook(server, "/no/parent/nb")
            #expect(orphan.status == .notFound)
            #expect(orphan.errorCode == "RESOURCE_DOES_NOT_EXIST")
        }
    }

    @Test func anExistingPathIsNotOverwrittenWithoutOverwrite() async throws {
        try await TestServer.run { server in
            let path = Self.home + "/nb"
            #expect(try await importNotebook(server, path).status == .ok)
            let again = try await importNotebook(server, path, "print(2)\n")
            #expect(again.status == .badRequest)
            #expect(again.errorCode == "RESOURCE_ALREADY_EXISTS")

            #expect(try await importNotebook(server, path, "print(2)\n", overwrite: true).status == .ok)
            let exported = try await server.call(.get, "/api/2.0/workspace/export?path=\(Self.formEncoded(path))&direct_download=true")
            #expect(exported.text.contains("print(2)"))

            let overFolder = try await importNotebook(server, Self.home, overwrite: true)
            #expect(overFolder.errorCode == "RESOURCE_ALREADY_EXISTS")
            let folderOverNotebook = try await server.call(.post, "/api/2.0/workspace/mkdirs", json: #"{"path": "\#(path)/sub"}"#)
            #expect(folderOverNotebook.status == .badRequest)
            #expect(folderOverNotebook.errorCode == "RESOURCE_ALREADY_EXISTS")
        }
    }

    @Test func aFolderWithChildrenIsDeletedOnlyRecursively() async throws {
        try await TestServer.run { server in
            #expect(try await importNotebook(server, Self.home + "/nb").status == .ok)
            let refused = try await server.call(.post, "/api/2.0/workspace/delete", json: #"{"path": "\#(Self.home)", "recursive": false}"#)
            #expect(refused.status == .badRequest)
            #expect(refused.errorCode == "DIRECTORY_NOT_EMPTY")
            #expect(try await status(server, Self.home + "/nb").status == .ok)

            let deleted = try await server.call(.post, "/api/2.0/workspace/delete", json: #"{"path": "\#(Self.home)", "recursive": true}"#)
            #expect(deleted.status == .ok)
            #expect(deleted.text == "{}")
            #expect(try await status(server, Self.home + "/nb").errorCode == "RESOURCE_DOES_NOT_EXIST")
            #expect(try await status(server, Self.home).errorCode == "RESOURCE_DOES_NOT_EXIST")
        }
    }

    @Test func aMultipartUploadCarriesRawBytes() async throws {
        try await TestServer.run { server in
            let boundary = "0123456789abcdef0123456789abcdef"
            let content: [UInt8] = [0x00, 0xFF, 0x0D, 0x0A, 0x2D, 0x2D, 0x41]
            var body = ByteBuffer()
            for (name, value) in [("path", Self.home + "/data.bin"), ("format", "RAW"), ("overwrite", "true")] {
                body.writeString("--\(boundary)\r\nContent-Disposition: form-data; name=\"\(name)\"\r\n\r\n\(value)\r\n")
            }
            body.writeString("--\(boundary)\r\nContent-Disposition: form-data; name=\"content\"; filename=\"content\"\r\n\r\n")
            body.writeBytes(content)
            body.writeString("\r\n--\(boundary)--\r\n")
            let uploaded = try await server.call(
                .post, "/api/2.0/workspace/import", body: body,
                headers: [.contentType: "multipart/form-data; boundary=\(boundary)"])
            #expect(uploaded.status == .ok, "\(uploaded.text)")

            let info = try await status(server, Self.home + "/data.bin")
            #expect(info["object_type"]?.stringValue == "FILE")
            #expect(info["size"]?.int64Value == Int64(content.count))
            let downloaded = try await server.call(
                .get, "/api/2.0/workspace/export?path=\(Self.formEncoded(Self.home + "/data.bin"))&direct_download=true&format=RAW")
            #expect(downloaded.bytes == content)
        }
    }

    @Test(arguments: [
        (#"{"path": "/x", "format": "SOURCE", "language": "PYTHON", "content": "%%%"}"#, "base64"),
        (#"{"path": "/x", "format": "EXCEL", "language": "PYTHON", "content": ""}"#, "Invalid format"),
        (#"{"path": "/x", "format": "SOURCE", "language": "COBOL", "content": ""}"#, "Invalid language"),
        (#"{"format": "SOURCE", "language": "PYTHON", "content": ""}"#, "Missing required field: path"),
        (#"{"path": "relative", "format": "SOURCE", "language": "PYTHON", "content": ""}"#, "must be absolute"),
        (#"{"path": "/x", "format": "SOURCE", "language": "PYTHON", "content": "", "overwrite": "maybe"}"#, "true or false"),
        (#"{"path": 7, "format": "SOURCE"}"#, "must be a string"),
    ])
    func anInvalidImportIsInvalidParameterValue(body: String, reason: String) async throws {
        try await TestServer.run { server in
            let reply = try await server.call(.post, "/api/2.0/workspace/import", json: body)
            #expect(reply.status == .badRequest)
            #expect(reply.errorCode == "INVALID_PARAMETER_VALUE")
            #expect(reply.message?.contains(reason) == true, "\(reply.text)")
        }
    }

    @Test(arguments: ["{not json", "[1, 2]", "\"text\"", "{\"path\": \"/a\""])
    func aBodyThatIsNotAJSONObjectIsMalformedRequest(body: String) async throws {
        try await TestServer.run { server in
            let reply = try await server.call(.post, "/api/2.0/workspace/mkdirs", json: body)
            #expect(reply.status == .badRequest)
            #expect(reply.errorCode == "MALFORMED_REQUEST")
        }
    }

    @Test func aBodyOverTheLimitIsRefusedWithACodeNotAResetConnection() async throws {
        try await TestServer.run { server in
            let padding = String(repeating: "x", count: (1 << 20) + 1)
            let reply = try await server.call(.post, "/api/2.0/workspace/mkdirs", json: #"{"path": "/big", "pad": "\#(padding)"}"#)
            #expect(reply.status == .contentTooLarge)
            #expect(reply.errorCode == "REQUEST_ENTITY_TOO_LARGE")
            #expect(try await status(server, "/big").errorCode == "RESOURCE_DOES_NOT_EXIST")
        }
    }

    @Test func anImportOverItsLimitIsMaxNotebookSizeExceeded() async throws {
        try await TestServer.run { server in
            var body = ByteBuffer()
            body.writeString(#"{"path": "/huge", "format": "RAW", "content": ""#)
            body.writeRepeatingByte(UInt8(ascii: "A"), count: 32 << 20)
            body.writeString(#""}"#)
            let reply = try await server.call(.post, "/api/2.0/workspace/import", body: body)
            #expect(reply.status == .badRequest)
            #expect(reply.errorCode == "MAX_NOTEBOOK_SIZE_EXCEEDED")
        }
    }
}
