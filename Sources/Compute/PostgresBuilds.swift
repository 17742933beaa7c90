#if canImport(Glibc)
    import Glibc
#endif
import Foundation

/// One PostgreSQL build, ready to run: its programs, and the `postgres` server Kiln starts.
public struct PostgresBuild: Sendable, Equatable {
    /// The major version (`15`, `16`, `17`).
    public var major: Int
    /// The version `postgres --version` reports (`17.10`).
    public var version: String
    /// Where the build's own programs are (`initdb`, `pg_basebackup`).
    public var binDirectory: String
    /// The `postgres` Kiln runs: a copy of the build's, in a tree of Kiln's own under the work directory
    /// whose share directory adds `extensionFiles` to the build's extensions (PostgreSQL finds its share
    /// directory relative to its own executable: `make_relative_path` in `src/port/path.c`).
    public var serverProgram: String

    /// The path of one of the build's programs.
    public func program(_ name: String) -> String {
        name == "postgres" ? serverProgram : binDirectory + "/" + name
    }
}

/// The PostgreSQL builds Kiln can run, one per major version: Debian's (`/usr/lib/postgresql/<major>/bin`)
/// and those `scripts/install-postgres` unpacked under Kiln's PostgreSQL root (`<root>/<major>/bin`).
/// Where both have a major, Debian's wins. A build is prepared (its server tree made, its version checked)
/// on first use in each Kiln process.
public actor PostgresBuilds {
    /// The bin directory of each major version found, by major.
    public nonisolated let binDirectories: [Int: String]
    /// Files to add to every build's `share/extension` (name → contents).
    nonisolated let extensionFiles: [String: String]
    private nonisolated let treeRoot: String
    private var prepared: [Int: Task<PostgresBuild, any Error>] = [:]

    /// `/opt/kiln/postgres` when Kiln runs as root (the compute user must reach it), else
    /// `~/.local/share/kiln/postgres`; `KILN_POSTGRES_ROOT` overrides both (in `scripts/install-postgres` too).
    public static var defaultKilnRoot: String {
        if let root = ProcessInfo.processInfo.environment["KILN_POSTGRES_ROOT"], !root.isEmpty { return root }
        return getuid() == 0 ? "/opt/kiln/postgres" : NSHomeDirectory() + "/.local/share/kiln/postgres"
    }

    /// Finds the builds under `roots` (each holding `<major>/bin/postgres`); their server trees go under
    /// `treeRoot`.
    public init(roots: [String], treeRoot: String, extensionFiles: [String: String] = [:]) {
        var found: [Int: String] = [:]
        for root in roots {
            for name in (try? FileManager.default.contentsOfDirectory(atPath: root)) ?? [] {
                guard let major = Int(name), found[major] == nil else { continue }
                let bin = root + "/" + name + "/bin"
                if FileManager.default.isExecutableFile(atPath: bin + "/postgres") { found[major] = bin }
            }
        }
        binDirectories = found
        self.treeRoot = treeRoot
        self.extensionFiles = extensionFiles
    }

    /// The major versions found, lowest first.
    public nonisolated var majors: [Int] { binDirectories.keys.sorted() }

    /// The build of `major`, prepared. Throws `ComputeError` when it is not installed or does not run
    /// the version it should.
    public func build(major: Int) async throws -> PostgresBuild {
        if let task = prepared[major] { return try await task.value }
        guard let bin = binDirectories[major] else {
            throw ComputeError(
                "PostgreSQL \(major) is not installed here (found: \(majors.map(String.init).joined(separator: ", "))); scripts/install-postgres installs 16 and 17."
            )
        }
        let task = Task { try await Self.prepare(major: major, bin: bin, tree: "\(treeRoot)/postgres-\(major)", extensionFiles: extensionFiles) }
        prepared[major] = task
        do {
            return try await task.value
        } catch {
            prepared[major] = nil
            throw error
        }
    }

    /// The major version of the data directory at `path` (its `PG_VERSION`), nil when there is none.
    public nonisolated func major(ofDataDirectory path: String) -> Int? {
        (try? String(contentsOfFile: path + "/PG_VERSION", encoding: .utf8)).flatMap { Int($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
    }

    /// Checks the build's version, then makes its server tree: the build's directories mirrored from their
    /// common ancestor, with a copy of `postgres` in the bin directory, links to the library directories,
    /// and a share directory of links plus Kiln's extension files.
    private static func prepare(major: Int, bin: String, tree: String, extensionFiles: [String: String]) async throws -> PostgresBuild {
        let versionLine = try await Commands.output([bin + "/postgres", "--version"], what: "postgres --version")
        // "postgres (PostgreSQL) 15.18 (Debian 15.18-0+deb12u1)"
        let words = versionLine.split(separator: " ")
        guard words.count >= 3, words[2].hasPrefix("\(major).") || words[2] == "\(major)" else {
            throw ComputeError("\(bin)/postgres is not PostgreSQL \(major): it says '\(versionLine)'.")
        }
        let paths = try await Commands.output([bin + "/pg_config", "--bindir", "--sharedir", "--pkglibdir", "--libdir"], what: "pg_config")
            .split(separator: "\n").map { URL(fileURLWithPath: String($0)).standardizedFileURL.path }
        guard paths.count == 4 else { throw ComputeError("\(bin)/pg_config gave no paths.") }
        let (binDir, shareDir, pkgLibDir, libDir) = (paths[0], paths[1], paths[2], paths[3])
        // PostgreSQL finds its share and module directories by their path relative to its bin directory
        // below the ancestor they have in common, so the tree keeps that layout below a root of its own.
        let common = commonAncestor([binDir, shareDir, pkgLibDir])
        func mirrored(_ path: String) -> String { tree + ".partial/" + path.dropFirst(common.count) }

        let files = FileManager.default
        try? files.removeItem(atPath: tree + ".partial")
        try files.createDirectory(atPath: mirrored(binDir), withIntermediateDirectories: true)
        // A copy, not a link: PostgreSQL resolves links to its own executable before it looks around it.
        try files.copyItem(atPath: binDir + "/postgres", toPath: mirrored(binDir) + "/postgres")
        // The library directories are linked where the copy expects them: its modules (`$libdir`), and the
        // shared libraries a wheel's build finds relative to the executable (`$ORIGIN/../lib`). A directory
        // inside another one is reached through that one's link.
        for library in [libDir, pkgLibDir].sorted()
        where library.hasPrefix(common) && !files.fileExists(atPath: mirrored(library)) && !isInside(library, [libDir, pkgLibDir]) {
            try files.createDirectory(atPath: URL(fileURLWithPath: mirrored(library)).deletingLastPathComponent().path, withIntermediateDirectories: true)
            try files.createSymbolicLink(atPath: mirrored(library), withDestinationPath: library)
        }
        let share = mirrored(shareDir)
        try files.createDirectory(atPath: share + "/extension", withIntermediateDirectories: true)
        for entry in try files.contentsOfDirectory(atPath: shareDir) where entry != "extension" {
            try files.createSymbolicLink(atPath: share + "/" + entry, withDestinationPath: shareDir + "/" + entry)
        }
        for entry in (try? files.contentsOfDirectory(atPath: shareDir + "/extension")) ?? [] where extensionFiles[entry] == nil {
            try files.createSymbolicLink(atPath: share + "/extension/" + entry, withDestinationPath: shareDir + "/extension/" + entry)
        }
        for (name, contents) in extensionFiles {
            try contents.write(toFile: share + "/extension/" + name, atomically: false, encoding: .utf8)
        }
        _ = try await Commands.output(["/bin/chmod", "-R", "a+rX", tree + ".partial"], what: "chmod")
        // A running postgres keeps its executable open; the new tree replaces the old one's names only.
        try? files.removeItem(atPath: tree)
        try files.moveItem(atPath: tree + ".partial", toPath: tree)
        return PostgresBuild(
            major: major, version: String(words[2]), binDirectory: bin, serverProgram: tree + "/" + binDir.dropFirst(common.count) + "/postgres")
    }

    /// Whether `path` lies strictly inside another of `others`.
    private static func isInside(_ path: String, _ others: [String]) -> Bool {
        others.contains { $0 != path && path.hasPrefix($0 + "/") }
    }

    /// The longest directory (ending in `/`) that holds every one of `paths`.
    static func commonAncestor(_ paths: [String]) -> String {
        var prefix = paths.first.map { $0 + "/" } ?? "/"
        for path in paths.dropFirst() {
            while !(path + "/").hasPrefix(prefix) {
                prefix = URL(fileURLWithPath: String(prefix.dropLast())).deletingLastPathComponent().path
                prefix = prefix.hasSuffix("/") ? prefix : prefix + "/"
            }
        }
        return prefix
    }
}
