import Foundation

/// Runs short compute commands (initdb, cp, pg_basebackup) as the compute user and waits for them.
struct Commands: Sendable {
    let configuration: ComputeConfiguration

    /// Runs `arguments` as the compute user; throws with the end of its output when it fails.
    func run(_ arguments: [String], what: String) async throws {
        _ = try await Self.output(configuration.user.command(arguments), what: what)
    }

    /// Runs `arguments` as Kiln itself and returns its output, trimmed; throws with the end of it when it
    /// fails.
    static func output(_ arguments: [String], what: String) async throws -> String {
        let log = FileManager.default.temporaryDirectory.appendingPathComponent("kiln-cmd-\(UUID().uuidString).log").path
        defer { try? FileManager.default.removeItem(atPath: log) }
        let child = try await Launcher.shared.launch(arguments, logPath: log)
        let status = await child.waitForExit()
        let output = ((try? String(contentsOfFile: log, encoding: .utf8)) ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
        guard status == 0 else { throw ComputeError("\(what) failed (exit \(status)): \(tail(output))") }
        return output
    }

    /// The last few lines of `text`, trimmed, for an error message.
    static func tail(_ text: String, lines: Int = 4) -> String {
        text.split(separator: "\n").suffix(lines).joined(separator: " | ").trimmingCharacters(in: .whitespaces)
    }
}
