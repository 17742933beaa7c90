import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import KilnApp
import Logging
import Persistence
import SQLKit
import NIOCore
import Synchronization
import Testing

/// The real application, in process, on a temporary SQLite data directory.
@Suite struct ApplicationTests {
    final class Announcements: Sendable {
        let lines = Mutex<[String]>([])
        var token: String? {
            lines.withLock { lines in
                lines.joined(separator: "\n").split(whereSeparator: \.isWhitespace).first { $0.hasPrefix("DATABRICKS_TOKEN=") }
                    .map { String($0.dropFirst("DATABRICKS_TOKEN=".count)) }
            }
        }
    }

    static func withApp(_ test: @Sendable (any TestClientProtocol, String) async throws -> Void) async throws {
        try await withApp { client, token, _ in try await test(client, token) }
    }

    static func withApp(
        _ test: @Sendable (any TestClientProtocol, String, any Database) async throws -> Void
    ) async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("kiln-app-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let announcements = Announcements()
        let (app, database) = try await buildApplication(
            configuration: KilnConfiguration(dataDirectory: directory.path, logLevel: .warning),
            announce: { line in announcements.lines.withLock { $0.append(line) } })
        try await app.test(.router) { client in
            let token = try #require(announcements.token)
            try await test(client, token, database)
        }
        await database.shutdown()
    }

    static func json(_ response: TestResponse) throws -> [String: Any] {
        try #require(JSONSerialization.jsonObject(with: Data(response.body.readableBytesView)) as? [String: Any])
    }

    @Test func healthAndHostMetadataNeedNoCredentials() async throws {
        try await Self.withApp { client, _ in
            let health = try await client.execute(uri: "/healthz", method: .get)
            #expect(health.status == .ok)
            let metadata = try await client.execute(uri: "/.well-known/databricks-config", method: .get)
            #expect(try Self.json(metadata)["workspace_id"] is String)
        }
    }

    @Test func apiRoutesNeedCredentials() async throws {
        try await Self.withApp { client, _ in
            let response = try await client.execute(uri: "/api/2.0/workspace/list?path=/", method: .get)
            #expect(response.status == .unauthorized)
            #expect(try Self.json(response)["error_code"] as? String == "UNAUTHENTICATED")
        }
    }

    @Test func unknownRoutesAreEndpointNotFound() async throws {
        try await Self.withApp { client, token in
            let response = try await client.execute(
                uri: "/api/2.0/nothing", method: .get, headers: [.authorization: "Bearer \(token)"])
            #expect(response.status == .notFound)
            #expect(try Self.json(response)["error_code"] as? String == "ENDPOINT_NOT_FOUND")
        }
    }

    @Test func firstStartCreatesTheAdminHome() async throws {
        try await Self.withApp { client, token in
            let response = try await client.execute(
                uri: "/api/2.0/workspace/list?path=%2FUsers", method: .get, headers: [.authorization: "Bearer \(token)"])
            #expect(response.status == .ok)
            let objects = try #require(try Self.json(response)["objects"] as? [[String: Any]])
            #expect(objects.map { $0["path"] as? String } == ["/Users/admin@kiln.local"])
        }
    }

    @Test func multipartImportThenDirectDownload() async throws {
        try await Self.withApp { client, token in
            let boundary = "b0undary"
            var body = ByteBuffer()
            body.writeString("--\(boundary)\r\nContent-Disposition: form-data; name=\"path\"\r\n\r\n/Shared/x.bin\r\n")
            body.writeString("--\(boundary)\r\nContent-Disposition: form-data; name=\"format\"\r\n\r\nRAW\r\n")
            body.writeString("--\(boundary)\r\nContent-Disposition: form-data; name=\"content\"; filename=\"content\"\r\n\r\n")
            body.writeBytes([0, 1, 2, 0xFF])
            body.writeString("\r\n--\(boundary)--\r\n")
            let imported = try await client.execute(
                uri: "/api/2.0/workspace/import", method: .post,
                headers: [.authorization: "Bearer \(token)", .contentType: "multipart/form-data; boundary=\(boundary)"],
                body: body)
            #expect(imported.status == .ok)
            #expect(String(buffer: imported.body) == "{}")
            let downloaded = try await client.execute(
                uri: "/api/2.0/workspace/export?path=%2FShared%2Fx.bin&direct_download=true", method: .get,
                headers: [.authorization: "Bearer \(token)"])
            #expect(Array(downloaded.body.readableBytesView) == [0, 1, 2, 0xFF])
        }
    }

    @Test func unknownWorkspaceHeaderIsRefused() async throws {
        try await Self.withApp { client, token in
            let response = try await client.execute(
                uri: "/api/2.0/workspace/list?path=/", method: .get,
                headers: [.authorization: "Bearer \(token)", HTTPField.Name("X-Databricks-Workspace-Id")!: "1"])
            #expect(response.status == .notFound)
        }
    }

    @Test func aServerFaultIsA500WithTheRequestIDAndNoInternals() async throws {
        try await Self.withApp { client, token, database in
            let auth: HTTPFields = [.authorization: "Bearer \(token)"]
            var body = ByteBuffer()
            body.writeString(#"{"path":"/Shared/nb","language":"PYTHON","content":"eA=="}"#)
            _ = try await client.execute(uri: "/api/2.0/workspace/import", method: .post, headers: auth, body: body)
            try await database.write { db in
                try await db.raw("UPDATE workspace_objects SET content = \(bind: Data("not a notebook".utf8))").run()
            }
            let response = try await client.execute(
                uri: "/api/2.0/workspace/export?path=/Shared/nb", method: .get, headers: auth)
            #expect(response.status == .internalServerError)
            let json = try Self.json(response)
            #expect(json["error_code"] as? String == "INTERNAL_ERROR")
            let message = try #require(json["message"] as? String)
            #expect(message.contains("request id"))
            #expect(!message.contains("Unexpected error") && !message.contains("DecodingError"))
        }
    }
}
