import ArgumentParser
import Foundation
import KilnApp
import Logging

/// `kiln serve`: builds the application and runs it until SIGINT or SIGTERM.
struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Serve the Databricks APIs over HTTP.")

    @Option(help: "Address to listen on (KILN_HOST; default 127.0.0.1).") var host: String?
    @Option(help: "Port to listen on (KILN_PORT; default 8080).") var port: Int?
    @OptionGroup var store: StoreOptions
    @Option(help: "trace, debug, info, notice, warning, error or critical (KILN_LOG_LEVEL; default info).")
    var logLevel: String?
    @Option(help: "User name of the admin created on first start (KILN_ADMIN_USER; default admin@kiln.local).")
    var adminUser: String?
    @Option(help: "Directory holding the storage configurations' buckets (KILN_STORAGE_ROOT; default <data-dir>/storage).")
    var storageRoot: String?
    @Flag(help: "Serve HTTPS with a certificate of Kiln's own CA, <data-dir>/postgres-tls/ca.pem (KILN_TLS).")
    var tls = false
    @Option(help: "Serve HTTPS with this PEM certificate chain (KILN_TLS_CERT; needs --tls-key).") var tlsCert: String?
    @Option(help: "The PEM private key of --tls-cert (KILN_TLS_KEY).") var tlsKey: String?

    func run() async throws {
        EventLoopCount.configure()
        let configuration: KilnConfiguration
        do {
            configuration = try KilnConfiguration.resolve(
                host: host, port: port, dataDirectory: store.dataDir, databaseURL: store.databaseURL,
                logLevel: logLevel, adminUserName: adminUser, storageRoot: storageRoot,
                tls: tls, tlsCertificate: tlsCert, tlsKey: tlsKey)
        } catch let error as ConfigurationError {
            throw ValidationError(error.description)
        }
        let level = configuration.logLevel
        LoggingSystem.bootstrap { label in
            var handler = LazyMetadataLogHandler(.standardError(label: label))
            handler.logLevel = level
            return handler
        }
        try await runKiln(configuration: configuration) { line in
            // Unbuffered, so a supervisor reading a pipe sees each line at once.
            FileHandle.standardOutput.write(Data((line + "\n").utf8))
        }
    }
}
