import Foundation
import Testing

@testable import Compute

/// Finding PostgreSQL builds and preparing the server tree Kiln runs each from, on stand-in builds
/// (shell scripts that answer `--version` and `pg_config` as a real build's programs do).
@Suite struct PostgresBuildsTests {
    /// A directory that is removed afterwards.
    static func withDirectory(_ body: (String) async throws -> Void) async throws {
        let root = NSTemporaryDirectory() + "kiln-builds-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: root) }
        try await body(root)
    }

    /// A stand-in build laid out like Debian's (`<prefix>/lib/postgresql/<major>/bin`, share in
    /// `<prefix>/share/postgresql/<major>`) whose `postgres --version` says `says`.
    static func makeBuild(prefix: String, major: Int, says: String) throws -> String {
        let bin = "\(prefix)/lib/postgresql/\(major)/bin"
        let share = "\(prefix)/share/postgresql/\(major)"
        for directory in [bin, "\(share)/extension", "\(prefix)/lib/postgresql/\(major)/lib"] {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        }
        try "bki".write(toFile: "\(share)/postgres.bki", atomically: true, encoding: .utf8)
        try "comment = 'x'".write(toFile: "\(share)/extension/plpgsql.control", atomically: true, encoding: .utf8)
        try script("echo '\(says)'").write(toFile: "\(bin)/postgres", atomically: true, encoding: .utf8)
        try script("printf '%s\\n' \(bin) \(share) \(prefix)/lib/postgresql/\(major)/lib \(prefix)/lib/x86_64-linux-gnu")
            .write(toFile: "\(bin)/pg_config", atomically: true, encoding: .utf8)
        for program in ["postgres", "pg_config"] { chmod("\(bin)/\(program)", 0o755) }
        return "\(prefix)/lib/postgresql"
    }

    static func script(_ body: String) -> String { "#!/bin/sh\n\(body)\n" }

    @Test func buildsAreFoundByMajorAndTheFirstRootWins() async throws {
        try await Self.withDirectory { root in
            let debian = try Self.makeBuild(prefix: root + "/usr", major: 15, says: "postgres (PostgreSQL) 15.18 (Debian)")
            let kiln = root + "/kiln"
            for major in ["15", "17", "notes"] {
                try FileManager.default.createDirectory(atPath: "\(kiln)/\(major)/bin", withIntermediateDirectories: true)
            }
            try Self.script("true").write(toFile: "\(kiln)/17/bin/postgres", atomically: true, encoding: .utf8)
            try Self.script("true").write(toFile: "\(kiln)/15/bin/postgres", atomically: true, encoding: .utf8)
            chmod("\(kiln)/17/bin/postgres", 0o755)
            chmod("\(kiln)/15/bin/postgres", 0o755)
            let builds = PostgresBuilds(roots: [debian, kiln, root + "/missing"], treeRoot: root + "/work")
            #expect(builds.majors == [15, 17])
            #expect(builds.binDirectories[15] == debian + "/15/bin")
            #expect(builds.binDirectories[17] == kiln + "/17/bin")
        }
    }

    @Test func theServerTreeAddsKilnsExtensionsToTheBuildsShareDirectory() async throws {
        try await Self.withDirectory { root in
            let debian = try Self.makeBuild(prefix: root + "/usr", major: 15, says: "postgres (PostgreSQL) 15.18 (Debian 15.18-0+deb12u1)")
            let builds = PostgresBuilds(
                roots: [debian], treeRoot: root + "/work", extensionFiles: ["kiln_test.control": "comment = 'kiln'\n"])
            let build = try await builds.build(major: 15)
            #expect(build.version == "15.18")
            #expect(build.program("initdb") == debian + "/15/bin/initdb")
            // The tree mirrors the build from the common ancestor of its directories (`<prefix>/`), so that
            // postgres finds its share and library directories relative to itself.
            let tree = root + "/work/postgres-15"
            #expect(build.serverProgram == tree + "/lib/postgresql/15/bin/postgres")
            #expect(FileManager.default.isExecutableFile(atPath: build.serverProgram))
            let files = FileManager.default
            #expect(try files.destinationOfSymbolicLink(atPath: tree + "/lib/postgresql/15/lib") == root + "/usr/lib/postgresql/15/lib")
            #expect(try files.destinationOfSymbolicLink(atPath: tree + "/share/postgresql/15/postgres.bki") == root + "/usr/share/postgresql/15/postgres.bki")
            #expect(
                try files.destinationOfSymbolicLink(atPath: tree + "/share/postgresql/15/extension/plpgsql.control")
                    == root + "/usr/share/postgresql/15/extension/plpgsql.control")
            #expect(try String(contentsOfFile: tree + "/share/postgresql/15/extension/kiln_test.control", encoding: .utf8) == "comment = 'kiln'\n")
            // Prepared once per process: the same build again, without running anything.
            #expect(try await builds.build(major: 15) == build)
        }
    }

    @Test func aBuildThatRunsAnotherVersionOrNoneIsRefused() async throws {
        try await Self.withDirectory { root in
            let wrong = try Self.makeBuild(prefix: root + "/usr", major: 16, says: "postgres (PostgreSQL) 15.18")
            let builds = PostgresBuilds(roots: [wrong], treeRoot: root + "/work")
            await #expect(throws: ComputeError.self) { try await builds.build(major: 16) }
            await #expect(throws: ComputeError.self) { try await builds.build(major: 17) }
        }
    }

    @Test func theCommonAncestorEndsAtADirectoryBoundary() {
        #expect(PostgresBuilds.commonAncestor(["/usr/lib/postgresql/15/bin", "/usr/share/postgresql/15"]) == "/usr/")
        #expect(PostgresBuilds.commonAncestor(["/opt/pg/bin", "/opt/pg/share", "/opt/pg/lib"]) == "/opt/pg/")
        #expect(PostgresBuilds.commonAncestor(["/a/lib", "/a/libexec"]) == "/a/")
    }

    @Test func aDataDirectoryNamesItsMajorVersion() async throws {
        try await Self.withDirectory { root in
            let builds = PostgresBuilds(roots: [], treeRoot: root)
            try FileManager.default.createDirectory(atPath: root + "/data", withIntermediateDirectories: true)
            #expect(builds.major(ofDataDirectory: root + "/data") == nil)
            try "16\n".write(toFile: root + "/data/PG_VERSION", atomically: true, encoding: .utf8)
            #expect(builds.major(ofDataDirectory: root + "/data") == 16)
        }
    }
}
