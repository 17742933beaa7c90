import SQLKit

extension SQLDatabase {
    /// Runs `body` between `begin` and COMMIT on this connection; rolls back and rethrows if it throws.
    func transaction<T: Sendable>(
        begin: SQLQueryString,
        _ body: @Sendable (any SQLDatabase) async throws -> T
    ) async throws -> T {
        try await raw(begin).run()
        do {
            let result = try await body(self)
            try await raw("COMMIT").run()
            return result
        } catch {
            try? await raw("ROLLBACK").run()
            throw error
        }
    }
}
