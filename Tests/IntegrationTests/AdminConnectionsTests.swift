#if canImport(Glibc)
    import Glibc
#endif
@testable import Compute
import Foundation
import PostgresNIO
import Testing

/// Kiln's kept connections to its computes, against a real postgres.
@Suite struct AdminConnectionsTests {
    /// Runs `body` with a started compute and Kiln's connections to it, whose time limit is 500 ms.
    private func withStartedCompute(
        _ body: (ComputeFixture, ServerSpec, AdminConnections) async throws -> Void
    ) async throws {
        let fixture = try ComputeFixture()
        defer { fixture.remove() }
        let spec = try await fixture.newServer("a")
        try await withSupervisor(fixture) { supervisor in
            try await supervisor.start(spec)
            let connections = AdminConnections(configuration: fixture.configuration, timeLimit: .milliseconds(500))
            do {
                try await body(fixture, spec, connections)
            } catch {
                await connections.closeAll()
                throw error
            }
            await connections.closeAll()
        }
    }

    /// A compute whose backend stops answering (SIGSTOP) fails Kiln's query once the time limit has passed,
    /// where a proxy client's login used to wait for ever; once it answers again, the next query works, on a
    /// new connection.
    @Test(.timeLimit(.minutes(1))) func aQueryToAComputeThatDoesNotAnswerFailsAfterTheTimeLimit() async throws {
        try await withStartedCompute { _, spec, connections in
            let pid = try await connections.strings(port: spec.port, "SELECT pg_backend_pid()::text").first.flatMap { Int32($0) }
            let backend = try #require(pid)
            kill(backend, SIGSTOP)
            let start = ContinuousClock.now
            await #expect(throws: ComputeError.self) { try await connections.loginSecret(port: spec.port, role: "kiln_system") }
            let waited = ContinuousClock.now - start
            #expect(waited >= .milliseconds(500) && waited < .seconds(5), "it failed after \(waited), not at the time limit")
            kill(backend, SIGCONT)
            #expect(try await connections.loginSecret(port: spec.port, role: "nobody") == nil)
            let next = try await connections.strings(port: spec.port, "SELECT pg_backend_pid()::text").first.flatMap { Int32($0) }
            #expect(next != backend)
        }
    }

    /// A compute whose postmaster stops (SIGSTOP) still takes connections on its socket (the kernel queues
    /// them) but never answers their startup: a new connection fails at the time limit too, and once the
    /// postmaster goes on the next query works.
    @Test(.timeLimit(.minutes(1))) func aConnectionToAComputeThatDoesNotAnswerItsStartupFailsAfterTheTimeLimit() async throws {
        try await withStartedCompute { fixture, spec, connections in
            let pidFile = try String(contentsOfFile: spec.dataDirectory + "/postmaster.pid", encoding: .utf8)
            let postmaster = try #require(pidFile.split(separator: "\n").first.flatMap { Int32($0) })
            kill(postmaster, SIGSTOP)
            var stopped = true
            defer { if stopped { kill(postmaster, SIGCONT) } }
            let start = ContinuousClock.now
            await #expect(throws: ComputeError.self) { try await connections.loginSecret(port: spec.port, role: "kiln_system") }
            let waited = ContinuousClock.now - start
            kill(postmaster, SIGCONT)
            stopped = false
            #expect(waited >= .milliseconds(500) && waited < .seconds(5), "it failed after \(waited), not at the time limit")
            // The postmaster first serves the connection given up on; the next login has the default limit.
            let after = AdminConnections(configuration: fixture.configuration)
            #expect(try await after.loginSecret(port: spec.port, role: "nobody") == nil)
            await after.closeAll()
        }
    }
}
