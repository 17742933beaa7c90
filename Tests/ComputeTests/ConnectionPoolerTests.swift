import Foundation
import Testing

@testable import Compute

/// The PgBouncer each compute's pooled host runs: Lakebase's pooler settings.
@Suite struct ConnectionPoolerTests {
    @Test func settingsAreLakebasesTransactionPoolSizedFromMaxConnections() async throws {
        try await PostgresBuildsTests.withDirectory { root in
            try await Self.check(root: root)
        }
    }

    static func check(root: String) async throws {
        let builds = try PostgresBuildsTests.makeBuild(prefix: root + "/usr", major: 17, says: "postgres (PostgreSQL) 17.10")
        let configuration = try ComputeConfiguration(postgresRoots: [builds], workDirectory: root + "/work")
        let spec = ServerSpec(id: "ep-1", dataDirectory: "/d/ep-1", port: 55123, settings: ["max_connections": "209"])
        let settings = ConnectionPooler.settings(for: spec, configuration: configuration)
        for line in [
            "* = host=\(configuration.socketDirectory) port=55123", "listen_addr =", "listen_port = 55123",
            "unix_socket_dir = \(configuration.socketDirectory)/pooler-55123", "pool_mode = transaction",
            "default_pool_size = 188", "max_client_conn = 10000", "auth_type = trust", "auth_user = kiln_system",
        ] {
            #expect(settings.contains("\n" + line + "\n"), "\(line)")
        }
        let small = ServerSpec(id: "ep-2", dataDirectory: "/d/ep-2", port: 55124, settings: [:])
        #expect(ConnectionPooler.settings(for: small, configuration: configuration).contains("\ndefault_pool_size = 90\n"))
    }
}
