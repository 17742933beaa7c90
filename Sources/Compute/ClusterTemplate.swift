#if canImport(Glibc)
    import Glibc
#endif
import Foundation
import Logging

/// An empty cluster of one major version, made once with `initdb` and copied for every new project of
/// that version (a copy takes ~0.1 s, `initdb` ~0.7 s). It already has what every Lakebase branch starts with: the `databricks_postgres`
/// database, the `databricks_superuser` group role, and Kiln's own superuser `kiln_system`, which
/// can only log in over the Unix socket.
struct ClusterTemplate: Sendable {
    let configuration: ComputeConfiguration
    let major: Int

    var path: String { configuration.workDirectory + "/template-\(major)-v2" }

    /// Who may connect to a compute, and how. Only processes of Kiln's own user (or root) and of the
    /// compute's user can reach the socket directory (mode 0700): Kiln itself and its proxy, which checked
    /// the client's login already, and the compute's PgBouncer, which checked it against the role's secret.
    static let hba = """
        # Kiln: its own superuser for maintenance and copies; every other login was checked by Kiln's proxy
        # or the compute's PgBouncer.
        local   all             kiln_system                             trust
        local   replication     kiln_system                             trust
        local   all             all                                     trust

        """

    static func hbaPath(_ configuration: ComputeConfiguration) -> String {
        configuration.workDirectory + "/pg_hba.conf"
    }

    /// Writes the shared `pg_hba.conf` every compute uses (`hba_file`), unless it is there already.
    static func writeHBA(_ configuration: ComputeConfiguration) throws {
        let path = hbaPath(configuration)
        if (try? String(contentsOfFile: path, encoding: .utf8)) == hba { return }
        try configuration.user.makeDirectory(configuration.workDirectory)
        try hba.write(toFile: path, atomically: true, encoding: .utf8)
        chmod(path, 0o644)
    }

    /// Makes the template if it is not there yet (a crash half way leaves only a `.partial` directory).
    func prepare(logger: Logger) async throws {
        if FileManager.default.fileExists(atPath: path) { return }
        let user = configuration.user
        try user.makeDirectory(configuration.workDirectory)
        try user.makeDirectory(configuration.socketDirectory, mode: 0o700)
        let partial = path + ".partial"
        try? FileManager.default.removeItem(atPath: partial)
        let started = ContinuousClock.now
        let build = try await configuration.builds.build(major: major)
        let commands = Commands(configuration: configuration)
        try await commands.run(
            [
                build.program("initdb"), "-D", partial, "-U", "kiln_system", "--auth=trust",
                "-E", "UTF8", "--locale=C.UTF-8", "--no-instructions",
            ], what: "initdb")
        let spec = ServerSpec(id: "template", dataDirectory: partial, port: configuration.ports.upperBound - 1, settings: [:])
        let server = try await PostgresServer.start(spec, configuration: configuration)
        do {
            try await AdminSession.run(
                configuration: configuration, port: spec.port, database: "postgres",
                [
                    "CREATE ROLE databricks_superuser NOLOGIN CREATEDB CREATEROLE BYPASSRLS",
                    "GRANT pg_read_all_data, pg_write_all_data, pg_monitor, pg_signal_backend TO databricks_superuser WITH ADMIN OPTION",
                    "CREATE DATABASE databricks_postgres",
                    "GRANT ALL ON DATABASE databricks_postgres TO databricks_superuser",
                ])
            try await AdminSession.run(
                configuration: configuration, port: spec.port, database: "databricks_postgres",
                [
                    "GRANT ALL ON SCHEMA public TO databricks_superuser"
                ])
        } catch {
            await server.stop()
            throw error
        }
        await server.stop()
        try? FileManager.default.removeItem(atPath: spec.logPath)
        try FileManager.default.moveItem(atPath: partial, toPath: path)
        logger.info(
            "Made the empty-cluster template", metadata: ["path": "\(path)", "version": "\(build.version)", "elapsed": "\(ContinuousClock.now - started)"])
    }
}
