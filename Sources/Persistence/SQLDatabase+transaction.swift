import SQLKit

extension SQLDatabase {
    /// Runs `body` between `begin` and COMMIT on this connection; rolls back and rethrows if it throws.
    /// `boundary` runs BEGIN, COMMIT and ROLLBACK (by default as any statement on this connection).
    func transaction<T: Sendable>(
        begin: String,
        boundary: (@Sendable (String) async throws -> Void)? = nil,
        _ body: @Sendable (any SQLDatabase) async throws -> T
    ) async throws -> T {
        let boundary = boundary ?? { statement in try await self.raw(SQLQueryString(statement)).run() }
        try await boundary(begin)
        do {
            let result = try await body(self)
            try await boundary("COMMIT")
            return result
        } catch {
            try? await boundary("ROLLBACK")
            throw error
        }
    }
}
