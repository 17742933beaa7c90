#if canImport(Glibc)
    import Glibc
#endif
import Compute
import Foundation
import Testing

/// The supervisor against real postgres: start, serve, stop, restart after crashes, report failures.
@Suite(.serialized) struct SupervisorTests {
    @Test func startsServesAndStops() async throws {
        let fixture = try ComputeFixture()
        defer { fixture.remove() }
        let spec = try await fixture.newServer("a", settings: ["work_mem": "8MB"])
        try await withSupervisor(fixture) { supervisor in
            try await supervisor.start(spec)
            #expect(await supervisor.state(id: "a") == .running)
            #expect(try await fixture.query(spec, "SHOW work_mem") == ["8MB"])
            #expect(try await fixture.query(spec, "SELECT datname FROM pg_database WHERE datname = 'databricks_postgres'") == ["databricks_postgres"])
            let pid = try #require(ComputeFixture.postmasterPID(spec))
            await supervisor.stop(id: "a")
            #expect(await supervisor.state(id: "a") == .stopped)
            #expect(!ComputeFixture.isAlive(pid))
        }
    }

    @Test func startingAgainWithAnotherSpecRestarts() async throws {
        let fixture = try ComputeFixture()
        defer { fixture.remove() }
        var spec = try await fixture.newServer("a")
        try await withSupervisor(fixture) { supervisor in
            try await supervisor.start(spec)
            let first = try #require(ComputeFixture.postmasterPID(spec))
            try await supervisor.start(spec)
            #expect(ComputeFixture.postmasterPID(spec) == first)
            spec.settings["work_mem"] = "16MB"
            try await supervisor.start(spec)
            #expect(ComputeFixture.postmasterPID(spec) != first)
            #expect(try await fixture.query(spec, "SHOW work_mem") == ["16MB"])
        }
    }

    @Test func aCrashedComputeIsRestarted() async throws {
        let fixture = try ComputeFixture()
        defer { fixture.remove() }
        let spec = try await fixture.newServer("a")
        try await withSupervisor(fixture) { supervisor in
            try await supervisor.start(spec)
            _ = try await fixture.query(spec, "CREATE TABLE kept AS SELECT 42 AS n")
            let first = try #require(ComputeFixture.postmasterPID(spec))
            kill(first, SIGKILL)
            let restarted = await ComputeFixture.eventually {
                guard let pid = ComputeFixture.postmasterPID(spec), pid != first else { return false }
                return await supervisor.state(id: "a") == .running
            }
            #expect(restarted)
            #expect(try await fixture.query(spec, "SELECT n::text FROM kept") == ["42"])
        }
    }

    @Test func aComputeThatKeepsCrashingIsDegradedUntilItCanStart() async throws {
        let fixture = try ComputeFixture()
        defer { fixture.remove() }
        let spec = try await fixture.newServer("a")
        try await withSupervisor(fixture) { supervisor in
            try await supervisor.start(spec)
            let pid = try #require(ComputeFixture.postmasterPID(spec))
            // Every restart fails while the data directory is away.
            try FileManager.default.moveItem(atPath: spec.dataDirectory, toPath: spec.dataDirectory + ".away")
            kill(pid, SIGKILL)
            var message = ""
            let degraded = await ComputeFixture.eventually {
                if case .degraded(let text) = await supervisor.state(id: "a") {
                    message = text
                    return true
                }
                return false
            }
            #expect(degraded)
            #expect(message.contains("postgres"))
            try await Task.sleep(for: .milliseconds(500)) // several attempts with backoff, still failing
            #expect(await supervisor.state(id: "a") != .running)
            #expect(await !supervisor.isRunning(id: "a"))
            try FileManager.default.moveItem(atPath: spec.dataDirectory + ".away", toPath: spec.dataDirectory)
            #expect(await ComputeFixture.eventually { await supervisor.state(id: "a") == .running })
            #expect(try await fixture.query(spec, "SELECT 1::text") == ["1"])
        }
    }

    @Test func aPostgresThatCannotStartFailsTheStartAndLeavesNothingRunning() async throws {
        let fixture = try ComputeFixture()
        defer { fixture.remove() }
        let spec = try await fixture.newServer("a", settings: ["shared_buffers": "lots"])
        try await withSupervisor(fixture) { supervisor in
            let error = await #expect(throws: ComputeError.self) { try await supervisor.start(spec) }
            #expect(error?.description.contains("shared_buffers") == true)
            #expect(await supervisor.state(id: "a") == .stopped)
            #expect(ComputeFixture.postmasterPID(spec).map(ComputeFixture.isAlive) != true)
        }
    }

    @Test func stoppingEverythingStopsEveryPostgres() async throws {
        let fixture = try ComputeFixture()
        defer { fixture.remove() }
        let specs = [try await fixture.newServer("a"), try await fixture.newServer("b")]
        var pids: [Int32] = []
        try await withSupervisor(fixture) { supervisor in
            for spec in specs { try await supervisor.start(spec) }
            pids = specs.compactMap(ComputeFixture.postmasterPID)
        }
        #expect(pids.count == 2)
        #expect(pids.allSatisfy { !ComputeFixture.isAlive($0) })
    }
}
