import KilnCore

/// What an `OperationRunner` performs, given to it at construction: Lakebase's reconciler.
protocol OperationPerformer: Sendable {
    /// Does an operation's work; returns the resource for its response (`nil` for deletes). An error
    /// becomes the operation's `error` (a `KilnError` with its code, anything else `INTERNAL_ERROR`).
    func perform(_ operation: OperationRecord) async throws -> JSONTree?
    /// Called once at start-up, before the operations a previous run left unfinished run again.
    func resume() async
    /// Work that follows an operation once it is reported done (successfully), outside its project's
    /// lock: a new branch's computes start, as a client's connection would start them.
    func followUp(_ operation: OperationRecord) async
}
