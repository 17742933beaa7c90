import Foundation
import Hummingbird
import HummingbirdTesting
import KilnApp
import Logging
import NIOCore
import NIOPosix
import Persistence
import Synchronization
import Testing

/// Requests sent back to back on one connection, before any answer (HTTP/1.1 pipelining), against the real
/// application on a port: some are answered on the event loop (`EventLoopResponder`), some by Hummingbird's
/// channel, and the answers come back in the order of the requests, the same either way.
@Suite struct PipeliningTests {
    static func withLiveApp(_ test: @Sendable (_ port: Int, _ token: String) async throws -> Void) async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("kiln-app-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let announcements = ApplicationTests.Announcements()
        var configuration = KilnConfiguration(dataDirectory: directory.path, logLevel: .warning)
        configuration.postgresProxyPort = nil // the services run, the Postgres proxy among them: no shared port
        let (app, database) = try await buildApplication(
            configuration: configuration,
            announce: { line in announcements.lines.withLock { $0.append(line) } })
        try await app.test(.live) { client in
            let port = try #require(client.port)
            let token = try #require(announcements.token)
            try await test(port, token)
        }
        await database.shutdown()
    }

    struct Answer {
        let status: Int
        let headers: [String: String]
        let body: String
    }

    /// Sends `requests` in one write and reads `count` answers (each with a `Content-Length`).
    static func exchange(_ requests: String, port: Int, count: Int) async throws -> [Answer] {
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton).connect(host: "localhost", port: port) {
            channel in
            channel.eventLoop.makeCompletedFuture { try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel) }
        }
        return try await channel.executeThenClose { inbound, outbound in
            try await outbound.write(ByteBuffer(string: requests))
            var received: [UInt8] = []
            for try await chunk in inbound {
                received += chunk.readableBytesView
                let answers = answers(in: received)
                if answers.count >= count { return answers }
            }
            return answers(in: received)
        }
    }

    /// The complete answers at the start of `bytes`.
    static func answers(in bytes: [UInt8]) -> [Answer] {
        var answers: [Answer] = []
        var rest = bytes[...]
        let separator: [UInt8] = Array("\r\n\r\n".utf8)
        while let end = rest.firstRange(of: separator) {
            let lines = String(decoding: rest[..<end.lowerBound], as: UTF8.self).components(separatedBy: "\r\n")
            let status = Int(lines[0].split(separator: " ")[1]) ?? 0
            var headers: [String: String] = [:]
            for line in lines.dropFirst() {
                guard let colon = line.firstIndex(of: ":") else { continue }
                headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            }
            let length = Int(headers["content-length"] ?? "0") ?? 0
            guard rest.count - (end.upperBound - rest.startIndex) >= length else { break }
            let body = rest[end.upperBound..<(end.upperBound + length)]
            answers.append(Answer(status: status, headers: headers, body: String(decoding: body, as: UTF8.self)))
            rest = rest[(end.upperBound + length)...]
        }
        return answers
    }

    static func get(_ target: String, token: String, close: Bool = false) -> String {
        "GET \(target) HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer \(token)\r\n" + (close ? "Connection: close\r\n" : "") + "\r\n"
    }

    @Test func answersKeepTheOrderOfTheRequestsWhicheverWayEachWent() async throws {
        try await Self.withLiveApp { port, token in
            _ = try await Self.exchange(
                "POST /api/2.0/workspace/mkdirs HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer \(token)\r\n"
                    + "Content-Length: 21\r\n\r\n{\"path\":\"/pipelined\"}",
                port: port, count: 1)
            // An import of more than 1 MiB goes to Hummingbird's channel (its body streams); the get-status behind
            // it is answered on the event loop, and must see the notebook the import made.
            let notebook = "# Databricks notebook source\n" + String(repeating: "x = 1\n", count: 150_000)
            let body =
                "{\"path\":\"/pipelined/big\",\"format\":\"SOURCE\",\"language\":\"PYTHON\",\"content\":\"\(Data(notebook.utf8).base64EncodedString())\"}"
            #expect(body.utf8.count > 1 << 20)
            let requests =
                Self.get("/healthz", token: token)
                + "POST /api/2.0/workspace/import HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer \(token)\r\n"
                + "Content-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\n\r\n\(body)"
                + Self.get("/api/2.0/workspace/get-status?path=/pipelined/big", token: token)
                + Self.get("/api/2.0/workspace/get-status?path=/pipelined/none", token: token)
                + Self.get("/api/2.0/workspace/get-status?path=/pipelined/none", token: token, close: true)
            let answers = try await Self.exchange(requests, port: port, count: 5)
            try #require(answers.count == 5)
            #expect(answers.map(\.status) == [200, 200, 200, 404, 404])
            #expect(answers[0].body.contains("\"status\""))
            #expect(answers[1].body == "{}")
            #expect(answers[2].body.contains("\"object_type\":\"NOTEBOOK\""))
            // The same request, answered on the event loop and by Hummingbird (`Connection: close`), answers the same.
            #expect(answers[3].body.contains("RESOURCE_DOES_NOT_EXIST"))
            #expect(answers[3].body == answers[4].body)
            for answer in answers {
                #expect(answer.headers["server"] == "kiln")
                #expect(answer.headers["date"]?.hasSuffix(" GMT") == true)
                #expect(answer.headers["content-type"] == "application/json")
            }
        }
    }
}
