import Foundation
import Testing

@testable import Compute

/// The command line every compute process starts through: the compute user, and the parent-death signal.
@Suite struct ComputeUserTests {
    let user: ComputeUser

    init() throws { user = try ComputeUser.forCurrentProcess() }

    @Test func aCommandStartedByKilnRuns() async throws {
        let marker = NSTemporaryDirectory() + "kiln-user-\(UUID().uuidString.prefix(8))"
        defer { try? FileManager.default.removeItem(atPath: marker) }
        let child = try await Launcher.shared.launch(user.command(["/usr/bin/touch", marker]), logPath: nil)
        #expect(await child.waitForExit() == 0)
        #expect(FileManager.default.fileExists(atPath: marker))
    }

    /// What a Kiln killed before `setpriv` asks for the signal looks like to the command: its parent is
    /// no longer Kiln (here a shell in between that forks it), so the command never starts.
    @Test func aCommandWhoseParentIsNoLongerKilnDoesNotStart() async throws {
        let marker = NSTemporaryDirectory() + "kiln-user-\(UUID().uuidString.prefix(8))"
        defer { try? FileManager.default.removeItem(atPath: marker) }
        let command = user.command(["/usr/bin/touch", marker])
        let child = try await Launcher.shared.launch(["/bin/sh", "-c", #""$@"; exit $?"#, "sh"] + command, logPath: nil)
        #expect(await child.waitForExit() == 1)
        #expect(!FileManager.default.fileExists(atPath: marker))
    }
}
