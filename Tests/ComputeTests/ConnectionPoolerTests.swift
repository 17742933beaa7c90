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
        let settings = ConnectionPooler.settings(for: spec, listener: nil, configuration: configuration)
        let directory = "\(configuration.socketDirectory)/pooler-55123"
        for line in [
            "* = host=\(configuration.socketDirectory) port=55123 auth_user=kiln_system", "listen_addr =", "unix_socket_dir =",
            "pool_mode = transaction", "default_pool_size = 188", "max_client_conn = 10000", "auth_type = hba",
            "auth_hba_file = \(directory)/pgbouncer_hba.conf", "client_tls_sslmode = disable", "tcp_defer_accept = 0",
        ] {
            #expect(settings.contains("\n" + line + "\n"), "\(line)")
        }
        // The pooled host's socket comes with its certificate: TLS as the proxy serves it.
        let listener = PoolerListener(descriptor: 9, certificateFile: "/c.pem", keyFile: "/k.pem", requireTLS: true)
        let secure = ConnectionPooler.settings(for: spec, listener: listener, configuration: configuration)
        for line in ["client_tls_sslmode = require", "client_tls_cert_file = \(directory)/server.crt", "client_tls_key_file = \(directory)/server.key"] {
            #expect(secure.contains("\n" + line + "\n"), "\(line)")
        }
        var optional = listener
        optional.requireTLS = false
        #expect(ConnectionPooler.settings(for: spec, listener: optional, configuration: configuration).contains("\nclient_tls_sslmode = prefer\n"))
        let small = ServerSpec(id: "ep-2", dataDirectory: "/d/ep-2", port: 55124, settings: [:])
        #expect(ConnectionPooler.settings(for: small, listener: nil, configuration: configuration).contains("\ndefault_pool_size = 90\n"))
    }

    @Test func clientsOfThePooledHostLogInWithTheRolesPasswordNeverToTheConsoleOrAsKiln() {
        let lines = ConnectionPooler.hba(requireTLS: false).split(separator: "\n").map { $0.split(separator: " ").joined(separator: " ") }
        // First match wins: the relay is trusted, the refusals come before the password rule.
        #expect(
            lines.filter { !$0.hasPrefix("#") } == [
                "local all all trust", "host pgbouncer all 0.0.0.0/0 reject", "host all pgbouncer 0.0.0.0/0 reject",
                "host all kiln_system 0.0.0.0/0 reject", "host all all 0.0.0.0/0 scram-sha-256",
            ])
        #expect(ConnectionPooler.hba(requireTLS: true).contains("\nhostssl all         all          0.0.0.0/0   scram-sha-256\n"))
    }
}
