public import Compute
public import Foundation
public import Logging

/// Everything `kiln serve` can be told. Each key comes from a flag, else from the environment, else
/// from the default:
///
/// | key | flag | environment | default |
/// |---|---|---|---|
/// | host | `--host` | `KILN_HOST` | `127.0.0.1` |
/// | port | `--port` | `KILN_PORT` | `8080` |
/// | data directory | `--data-dir` | `KILN_DATA_DIR` | `./.kiln` |
/// | database URL | `--database-url` | `KILN_DATABASE_URL` | SQLite file `<data-dir>/kiln.sqlite` |
/// | log level | `--log-level` | `KILN_LOG_LEVEL` | `info` |
/// | admin user name | `--admin-user` | `KILN_ADMIN_USER` | `admin@kiln.local` |
/// | storage root (where buckets live) | `--storage-root` | `KILN_STORAGE_ROOT` | `<data-dir>/storage` |
/// | host Lakebase endpoints listen on | – | `KILN_POSTGRES_HOST` | `127.0.0.1` |
/// | ports of Lakebase endpoints (the proxy's per-endpoint listeners) | – | `KILN_POSTGRES_PORTS` | `55000-55999` |
/// | the proxy's shared port (`off`: none) | – | `KILN_POSTGRES_PROXY_PORT` | `5432` |
/// | domain of endpoint host names (`ep-….<domain>`) | – | `KILN_POSTGRES_DOMAIN` | `kiln.localhost` |
/// | refuse Postgres clients without TLS | – | `KILN_POSTGRES_REQUIRE_TLS` | `false` |
/// | suspend timeout of every endpoint, in seconds (tests, demos) | – | `KILN_POSTGRES_SUSPEND_TIMEOUT` | each endpoint's own |
/// | keep Lakebase data on a copy-on-write xfs volume Kiln makes (root only; `StorageVolume`) | – | `KILN_STORAGE_VOLUME` (`xfs` or `none`) | `none` |
/// | the most that volume's image may grow to | – | `KILN_STORAGE_VOLUME_SIZE` (bytes, or with `G`/`M`) | `64G` (at most 90 % of the free disk) |
/// | serve HTTPS with a certificate of Kiln's own CA | `--tls` | `KILN_TLS` | `false` (plain HTTP) |
/// | serve HTTPS with this PEM certificate chain and key | `--tls-cert`, `--tls-key` | `KILN_TLS_CERT`, `KILN_TLS_KEY` | none |
public struct KilnConfiguration: Sendable {
    public var host: String
    public var port: Int
    public var dataDirectory: String
    /// `postgres://…` to keep metadata in PostgreSQL; `nil` for the embedded SQLite file.
    public var databaseURL: String?
    public var logLevel: Logger.Level
    /// The user name of the admin created on first start.
    public var adminUserName: String
    /// Where storage configurations' buckets are directories; `nil` means `<data-dir>/storage`.
    public var storageRootOverride: String?
    /// The address Lakebase endpoints (postgres) listen on.
    public var postgresHost = "127.0.0.1"
    /// The ports Lakebase endpoints get, one each.
    public var postgresPorts = 55000..<56000
    /// The proxy's shared port, routed by TLS server name or `options=endpoint=…`; nil: none.
    public var postgresProxyPort: Int? = 5432
    /// Endpoint host names are `<endpoint uid>.<postgresDomain>`.
    public var postgresDomain = "kiln.localhost"
    public var postgresRequireTLS = false
    /// Replaces every endpoint's suspend timeout.
    public var postgresSuspendTimeout: Duration?
    /// The copy-on-write volume to mount on the storage root; nil: none (the storage root's own filesystem).
    public var storageVolume: StorageVolume?
    /// How the HTTP API is served: plain HTTP (nil), or HTTPS.
    public var https: HTTPSCertificate?

    /// Where the HTTPS API's certificate comes from.
    public enum HTTPSCertificate: Sendable, Equatable {
        /// Made by Kiln's own CA (`<data-dir>/postgres-tls/ca.pem`) for `localhost`, `*.localhost` and the
        /// listen address.
        case ownAuthority
        /// PEM files: the certificate chain and its private key.
        case files(certificate: String, key: String)
    }

    /// The SQLite metadata store, when no `databaseURL` is given: `<data-dir>/kiln.sqlite`.
    public var sqlitePath: String {
        URL(fileURLWithPath: dataDirectory).appendingPathComponent("kiln.sqlite").path
    }

    /// The proxy's certificate authority and server certificate.
    public var postgresTLSDirectory: String {
        URL(fileURLWithPath: dataDirectory).appendingPathComponent("postgres-tls").path
    }

    /// The directory that holds the buckets.
    public var storageRoot: String {
        storageRootOverride ?? URL(fileURLWithPath: dataDirectory).appendingPathComponent("storage").path
    }

    public init(
        host: String = "127.0.0.1",
        port: Int = 8080,
        dataDirectory: String = ".kiln",
        databaseURL: String? = nil,
        logLevel: Logger.Level = .info,
        adminUserName: String = "admin@kiln.local"
    ) {
        self.host = host
        self.port = port
        self.dataDirectory = dataDirectory
        self.databaseURL = databaseURL
        self.logLevel = logLevel
        self.adminUserName = adminUserName
    }

    /// Flags (non-nil arguments) override `environment`, which overrides the defaults.
    public static func resolve(
        host: String? = nil, port: Int? = nil, dataDirectory: String? = nil, databaseURL: String? = nil,
        logLevel: String? = nil, adminUserName: String? = nil, storageRoot: String? = nil,
        tls: Bool = false, tlsCertificate: String? = nil, tlsKey: String? = nil,
        environment: [String: String] = ProcessInfo.processInfo.environment
    ) throws -> KilnConfiguration {
        func value(_ flag: String?, _ key: String) -> String? {
            if let flag, !flag.isEmpty { return flag }
            if let env = environment[key], !env.isEmpty { return env }
            return nil
        }
        var configuration = KilnConfiguration()
        if let host = value(host, "KILN_HOST") { configuration.host = host }
        if let port {
            configuration.port = port
        } else if let text = environment["KILN_PORT"], !text.isEmpty {
            guard let parsed = Int(text), (0...65535).contains(parsed) else {
                throw ConfigurationError("KILN_PORT must be a port number, not '\(text)'.")
            }
            configuration.port = parsed
        }
        if let dir = value(dataDirectory, "KILN_DATA_DIR") { configuration.dataDirectory = dir }
        configuration.databaseURL = value(databaseURL, "KILN_DATABASE_URL")
        if let level = value(logLevel, "KILN_LOG_LEVEL") {
            guard let parsed = Logger.Level(rawValue: level.lowercased()) else {
                throw ConfigurationError("Unknown log level '\(level)'; use trace, debug, info, notice, warning, error or critical.")
            }
            configuration.logLevel = parsed
        }
        if let admin = value(adminUserName, "KILN_ADMIN_USER") { configuration.adminUserName = admin }
        configuration.storageRootOverride = value(storageRoot, "KILN_STORAGE_ROOT")
        if let host = environment["KILN_POSTGRES_HOST"], !host.isEmpty { configuration.postgresHost = host }
        if let text = environment["KILN_POSTGRES_PORTS"], !text.isEmpty {
            let bounds = text.split(separator: "-").compactMap { Int($0) }
            guard bounds.count == 2, bounds[0] > 0, bounds[0] <= bounds[1], bounds[1] <= 65535 else {
                throw ConfigurationError("KILN_POSTGRES_PORTS must be a range such as 55000-55999, not '\(text)'.")
            }
            configuration.postgresPorts = bounds[0]..<(bounds[1] + 1)
        }
        if let text = environment["KILN_POSTGRES_PROXY_PORT"], !text.isEmpty {
            if text == "off" {
                configuration.postgresProxyPort = nil
            } else {
                guard let port = Int(text), (1...65535).contains(port) else {
                    throw ConfigurationError("KILN_POSTGRES_PROXY_PORT must be a port number or 'off', not '\(text)'.")
                }
                configuration.postgresProxyPort = port
            }
        }
        if let domain = environment["KILN_POSTGRES_DOMAIN"], !domain.isEmpty { configuration.postgresDomain = domain }
        if let text = environment["KILN_POSTGRES_REQUIRE_TLS"], !text.isEmpty {
            guard let flag = ["true": true, "1": true, "false": false, "0": false][text.lowercased()] else {
                throw ConfigurationError("KILN_POSTGRES_REQUIRE_TLS must be true or false, not '\(text)'.")
            }
            configuration.postgresRequireTLS = flag
        }
        if let text = environment["KILN_POSTGRES_SUSPEND_TIMEOUT"], !text.isEmpty {
            guard let seconds = Double(text), seconds > 0 else {
                throw ConfigurationError("KILN_POSTGRES_SUSPEND_TIMEOUT must be a number of seconds, not '\(text)'.")
            }
            configuration.postgresSuspendTimeout = .milliseconds(Int(seconds * 1000))
        }
        switch environment["KILN_STORAGE_VOLUME"]?.lowercased() ?? "" {
        case "", "none":
            break
        case "xfs":
            var size = StorageVolume.defaultSize
            if let text = environment["KILN_STORAGE_VOLUME_SIZE"], !text.isEmpty {
                let units: [Character: Int64] = ["G": 1 << 30, "M": 1 << 20]
                let unit = text.last.flatMap { units[Character($0.uppercased())] }
                guard let number = Int64(unit == nil ? text : String(text.dropLast())), number > 0 else {
                    throw ConfigurationError("KILN_STORAGE_VOLUME_SIZE must be a size such as 64G, 512M or a number of bytes, not '\(text)'.")
                }
                size = number * (unit ?? 1)
            }
            let image = URL(fileURLWithPath: configuration.dataDirectory).appendingPathComponent("storage.xfs").path
            configuration.storageVolume = StorageVolume(image: image, mountPoint: configuration.storageRoot, size: size)
        case let other:
            throw ConfigurationError("KILN_STORAGE_VOLUME must be xfs or none, not '\(other)'.")
        }
        switch (value(tlsCertificate, "KILN_TLS_CERT"), value(tlsKey, "KILN_TLS_KEY")) {
        case (let certificate?, let key?):
            configuration.https = .files(certificate: certificate, key: key)
        case (nil, nil):
            let flag = environment["KILN_TLS"].map { ["true", "1"].contains($0.lowercased()) } ?? false
            if tls || flag { configuration.https = .ownAuthority }
        default:
            throw ConfigurationError("A TLS certificate needs its key: give both --tls-cert and --tls-key (KILN_TLS_CERT, KILN_TLS_KEY).")
        }
        return configuration
    }

    /// `https` when the API is served over TLS, else `http`.
    public var scheme: String { https == nil ? "http" : "https" }

    /// The address clients reach Kiln at: the listen address, or the loopback address for a wildcard one.
    public var visibleHost: String {
        ["0.0.0.0", "::", ""].contains(host) ? "127.0.0.1" : host
    }

    /// The URL clients use: a wildcard listen address is reached through the loopback address.
    public var publicURL: String {
        let hostPart = visibleHost.contains(":") ? "[\(visibleHost)]" : visibleHost
        let defaultPort = https == nil ? 80 : 443
        return port == defaultPort ? "\(scheme)://\(hostPart)" : "\(scheme)://\(hostPart):\(port)"
    }
}

/// A configuration value that cannot be used.
public struct ConfigurationError: Error, CustomStringConvertible {
    public var description: String

    public init(_ description: String) {
        self.description = description
    }
}
