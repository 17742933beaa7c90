#if canImport(Glibc)
    import Glibc
#endif
import Foundation
import Testing

@testable import Compute

/// Starting children: commands and PostgreSQL in a process group of their own, and the pooler with
/// listening sockets passed as systemd's socket activation does.
@Suite struct LauncherTests {
    @Test func aCommandAppendsToItsLogInAProcessGroupOfItsOwnWithNoneOfKilnsDescriptors() async throws {
        let log = NSTemporaryDirectory() + "kiln-launcher-\(UUID().uuidString.prefix(8)).log"
        defer { try? FileManager.default.removeItem(atPath: log) }
        try "before\n".write(toFile: log, atomically: false, encoding: .utf8)
        let stray = open("/dev/null", O_RDONLY)
        defer { close(stray) }
        // Field 5 of /proc/PID/stat is the process group, field 6 the session (the command's name, field 2,
        // has no spaces here).
        let script =
            "test -e /proc/$$/fd/\(stray) && echo leaked; test -e /proc/$$/fd/3 && echo three; "
            + "cut -d' ' -f5,6 /proc/$$/stat; echo $$; readlink /proc/$$/fd/0"
        let child = try await Launcher.shared.launch(["/bin/sh", "-c", script], logPath: log)
        #expect(await child.waitForExit() == 0)
        let lines = try String(contentsOfFile: log, encoding: .utf8).split(separator: "\n").map(String.init)
        #expect(lines == ["before", "\(child.pid) \(getsid(0))", "\(child.pid)", "/dev/null"])
    }

    @Test func aCommandWithoutALogAndOneThatCannotStart() async throws {
        let quiet = try await Launcher.shared.launch(["/bin/sh", "-c", "echo gone; exit 3"], logPath: nil)
        #expect(await quiet.waitForExit() == 3)
        await #expect(throws: ComputeError.self) {
            try await Launcher.shared.launch(["/nonexistent/kiln-command"], logPath: nil)
        }
        let unopenable = "/nonexistent/kiln-logs/command.log"
        let error = await #expect(throws: ComputeError.self) {
            try await Launcher.shared.launch(["/bin/true"], logPath: unopenable)
        }
        #expect(error?.description.contains(unopenable) == true)
    }

    @Test func aChildGetsTheSocketsAtThreeAndNoOtherOfKilnsDescriptors() async throws {
        let log = NSTemporaryDirectory() + "kiln-launcher-\(UUID().uuidString.prefix(8)).log"
        defer { try? FileManager.default.removeItem(atPath: log) }
        var pair: [Int32] = [0, 0]
        #expect(socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0, &pair) == 0)
        defer { for descriptor in pair { close(descriptor) } }
        // An inheritable descriptor Kiln did not mean to pass: the child must not see it.
        let stray = open("/dev/null", O_RDONLY)
        defer { close(stray) }
        var status = stat()
        fstat(pair[1], &status)
        let leaks = [stray, pair[0], pair[1]].filter { $0 > 3 }.map { "test -e /proc/$$/fd/\($0) && echo \($0) leaked; " }.joined()
        let child = try await Launcher.shared.launch(
            ["/bin/sh", "-c", leaks + "readlink /proc/$$/fd/3"], logPath: log, sockets: [pair[1]])
        #expect(await child.waitForExit() == 0)
        let output = try String(contentsOfFile: log, encoding: .utf8)
        #expect(output == "socket:[\(status.st_ino)]\n")
    }

    @Test func theExitStatusOfASpawnedChildIsItsCodeOrSignal() async throws {
        let failing = try await Launcher.shared.launch(["/bin/sh", "-c", "exit 7"], logPath: "/dev/null", sockets: [])
        #expect(await failing.waitForExit() == 7)
        let killed = try await Launcher.shared.launch(["/bin/sleep", "30"], logPath: "/dev/null", sockets: [])
        await killed.stop([SIGTERM], escalation: [])
        #expect(await killed.waitForExit() == SIGTERM)
        // Reaped once its end is told: no zombie keeps the pid (ESRCH, unless another process took it since).
        for child in [failing, killed] {
            #expect(kill(child.pid, 0) == -1 && errno == ESRCH)
        }
    }
}
