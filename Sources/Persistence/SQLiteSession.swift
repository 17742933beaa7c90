import Foundation
import Logging
import NIOCore
import NIOPosix
public import SQLKit
import SQLiteKit
import SQLiteNIO
import Synchronization
import VaporCSQLite

/// One SQLite connection that runs each statement on the calling thread, for `SQLiteStore`.
///
/// SQLiteNIO's connection runs every statement on its thread pool, which is two thread hand-offs per
/// statement (to the pool, and back to the task); on this kind of machine they cost more than a read by key
/// itself (a get-status is one such read, an import a handful of statements). Kiln's statements are short:
/// reads by key or by folder, and the statements inside a write transaction, which neither wait for a lock
/// (BEGIN IMMEDIATE took it) nor for the disk (WAL with `synchronous = NORMAL`, and checkpoints, which sync,
/// left to `WALCheckpointer`). So they run where the task runs; `SQLiteStore` sends a BEGIN to NIO's thread
/// pool only when it would wait for another process (`runUnlessBusy`). Same SQLite library (SQLiteNIO's,
/// `VaporCSQLite`) and the same values (`SQLiteData`, SQLiteKit's encoder, decoder and dialect) as through
/// SQLiteNIO; text is read by its length, so text with a NUL in it comes back whole (SQLiteNIO cut it there).
///
/// Each distinct statement is prepared once and kept (`SQLITE_PREPARE_PERSISTENT`), up to
/// `statementLimit`; then all are finalised and preparing starts over. `SQLiteStore`'s pool hands a session
/// to one task at a time; the lock inside only makes that a guarantee.
final class SQLiteSession: Sendable {
    /// How many prepared statements a session keeps.
    static let statementLimit = 256
    /// Bytes of a text value above which it is unbound once its statement has run (a blob always is).
    static let largeValue = 4096
    /// How long a statement waits for another connection's lock before it fails with `SQLITE_BUSY`, in
    /// milliseconds (`PRAGMA busy_timeout`).
    static let busyTimeout: Int32 = 10_000

    fileprivate struct State: ~Copyable {
        var handle: OpaquePointer?
        var statements: [String: Statement] = [:]
        /// Kept while its wal hook, which points at it unretained, is installed.
        var checkpointer: WALCheckpointer?
    }

    private let state: Mutex<State>
    let logger: Logger

    private init(handle: sending OpaquePointer?, logger: Logger) {
        self.state = Mutex(State(handle: handle))
        self.logger = logger
    }

    /// SQLite's global state is set up once, before the first connection opens (as SQLiteNIO does).
    private static let initialized: Int32 = sqlite_nio_sqlite3_initialize()

    /// Opens (creating if needed) the database file at `path`. Throws `SQLiteFailure`.
    static func open(path: String, logger: Logger) throws -> SQLiteSession {
        _ = initialized
        var handle: OpaquePointer?
        // SQLite's "multi-thread" mode (NOMUTEX): every use of the connection is inside `state`'s lock, so
        // SQLite's own mutex, taken on every call (each column of each row of a list), guards nothing more.
        let flags = SQLITE_OPEN_CREATE | SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_URI | SQLITE_OPEN_EXRESCODE
        let code = sqlite_nio_sqlite3_open_v2(path, &handle, flags, nil)
        guard code == SQLITE_OK else {
            let message = handle.map { String(cString: sqlite_nio_sqlite3_errmsg($0)) } ?? "out of memory"
            sqlite_nio_sqlite3_close(handle)
            throw SQLiteFailure(code: code, message: "Cannot open the SQLite database at \(path): \(message)")
        }
        return SQLiteSession(handle: handle, logger: logger)
    }

    /// Runs one statement with `binds` (`?` placeholders, in order), calling `onRow` for each row it returns.
    /// Throws `SQLiteFailure` with SQLite's code and message.
    func run(_ sql: String, _ binds: [SQLiteData], _ onRow: (SQLiteRecord) -> Void) throws {
        try state.withLock { state in
            guard let handle = state.handle else { throw SQLiteFailure(code: SQLITE_MISUSE, message: "The connection is closed.") }
            let prepared = try state.prepared(sql, on: handle)
            let statement = prepared.handle
            // Reset before returning, whatever happened: a statement left mid-way holds a read transaction open.
            // Blobs are bound where they are (`binds` holds them until then) and unbound, so that a kept statement
            // points at no freed memory; large text is unbound, so a kept statement does not hold a copy of it;
            // `sqlite3_clear_bindings` is not used, since it makes SQLite prepare again any statement whose plan
            // looked at a bound value (an `= ?` on a column without an index of its own).
            var unbinding: [Int32] = []
            defer {
                sqlite_nio_sqlite3_reset(statement)
                for index in unbinding { sqlite_nio_sqlite3_bind_null(statement, index) }
            }
            for (offset, value) in binds.enumerated() {
                let index = Int32(offset + 1)
                try Self.check(Self.bind(value, at: index, to: statement), on: handle)
                let isBlob = if case .blob = value { true } else { false }
                if isBlob || value.byteCount > Self.largeValue { unbinding.append(index) }
            }
            var columns: [String]?
            while true {
                let code = sqlite_nio_sqlite3_step(statement)
                if code == SQLITE_DONE { return }
                guard code == SQLITE_ROW else { throw Self.failure(code, on: handle) }
                let names = columns ?? state.columns(of: sql, prepared)
                columns = names
                onRow(SQLiteRecord(columns: names, values: (0..<Int32(names.count)).map { Self.value(at: $0, of: statement) }))
            }
        }
    }

    /// Runs `sql` (no binds, no rows) without waiting for another connection's lock: returns false, having
    /// done nothing, when SQLite answers `SQLITE_BUSY` at once (another process holds the write lock), for the
    /// caller to run it again where waiting out the busy timeout is fine. Throws `SQLiteFailure` otherwise.
    func runUnlessBusy(_ sql: String) throws -> Bool {
        try state.withLock { state in
            guard let handle = state.handle else { throw SQLiteFailure(code: SQLITE_MISUSE, message: "The connection is closed.") }
            let statement = try state.prepared(sql, on: handle).handle
            sqlite_nio_sqlite3_busy_timeout(handle, 0)
            defer {
                sqlite_nio_sqlite3_reset(statement)
                sqlite_nio_sqlite3_busy_timeout(handle, Self.busyTimeout)
            }
            let code = sqlite_nio_sqlite3_step(statement)
            if code == SQLITE_DONE { return true }
            if code & 0xFF == SQLITE_BUSY { return false }
            throw Self.failure(code, on: handle)
        }
    }

    /// Makes every commit on this connection tell `checkpointer` the log's size, in pages
    /// (`sqlite3_wal_hook`, which also turns SQLite's own auto-checkpoint off).
    func reportCommits(to checkpointer: WALCheckpointer) {
        state.withLock { state in
            guard let handle = state.handle else { return }
            state.checkpointer = checkpointer
            _ = sqlite_nio_sqlite3_wal_hook(
                handle,
                { context, _, _, pages in
                    guard let context else { return SQLITE_OK }
                    Unmanaged<WALCheckpointer>.fromOpaque(context).takeUnretainedValue().committed(pages: pages)
                    return SQLITE_OK
                }, Unmanaged.passUnretained(checkpointer).toOpaque())
        }
    }

    /// Finalises every kept statement and closes the connection; running a statement afterwards throws.
    func close() {
        state.withLock { state in
            for statement in state.statements.values { sqlite_nio_sqlite3_finalize(statement.handle) }
            state.statements = [:]
            sqlite_nio_sqlite3_close_v2(state.handle)
            state.handle = nil
            state.checkpointer = nil
        }
    }

    private static func bind(_ value: SQLiteData, at index: Int32, to statement: OpaquePointer) -> Int32 {
        switch value {
        case .blob(let buffer):
            // Read in place (SQLITE_STATIC), not copied: `run` unbinds it before `buffer` can go.
            buffer.withUnsafeReadableBytes {
                sqlite_nio_sqlite3_bind_blob64(statement, index, $0.baseAddress, UInt64($0.count), nil)
            }
        case .float(let double): sqlite_nio_sqlite3_bind_double(statement, index, double)
        case .integer(let integer): sqlite_nio_sqlite3_bind_int64(statement, index, Int64(integer))
        case .null: sqlite_nio_sqlite3_bind_null(statement, index)
        case .text(let text):
            sqlite_nio_sqlite3_bind_text64(statement, index, text, UInt64(text.utf8.count), transient, UInt8(SQLITE_UTF8))
        }
    }

    private static func value(at column: Int32, of statement: OpaquePointer) -> SQLiteData {
        switch sqlite_nio_sqlite3_column_type(statement, column) {
        case SQLITE_INTEGER: return .integer(Int(sqlite_nio_sqlite3_column_int64(statement, column)))
        case SQLITE_FLOAT: return .float(sqlite_nio_sqlite3_column_double(statement, column))
        case SQLITE_TEXT:
            let text = sqlite_nio_sqlite3_column_text(statement, column)
            let count = Int(sqlite_nio_sqlite3_column_bytes(statement, column))
            return .text(String(decoding: UnsafeRawBufferPointer(start: text, count: count), as: UTF8.self))
        case SQLITE_BLOB:
            let count = Int(sqlite_nio_sqlite3_column_bytes(statement, column))
            var buffer = ByteBufferAllocator().buffer(capacity: count)
            if let blob = sqlite_nio_sqlite3_column_blob(statement, column) {
                buffer.writeBytes(UnsafeRawBufferPointer(start: blob, count: count))
            }
            return .blob(buffer)
        default: return .null
        }
    }

    private static func check(_ code: Int32, on handle: OpaquePointer) throws(SQLiteFailure) {
        guard code != SQLITE_OK else { return }
        throw failure(code, on: handle)
    }

    fileprivate static func failure(_ code: Int32, on handle: OpaquePointer) -> SQLiteFailure {
        SQLiteFailure(code: code, message: String(cString: sqlite_nio_sqlite3_errmsg(handle)))
    }

    /// `SQLITE_TRANSIENT`: SQLite copies the bound bytes before the bind returns.
    private static let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)
}

extension SQLiteSession {
    /// A kept prepared statement, and the names of its result columns once a run has read them.
    fileprivate struct Statement {
        let handle: OpaquePointer
        var columns: [String]?
        /// `SQLITE_STMTSTATUS_REPREPARE` when `columns` were read: SQLite prepares a statement again after a
        /// change of the schema, which can change its columns (a `SELECT *`).
        var preparedTimes: Int32 = 0
    }
}

extension SQLiteSession.State {
    /// The prepared statement for `sql`, prepared now if it is not kept yet.
    fileprivate mutating func prepared(_ sql: String, on handle: OpaquePointer) throws -> SQLiteSession.Statement {
        if let statement = statements[sql] { return statement }
        if statements.count >= SQLiteSession.statementLimit {
            for statement in statements.values { sqlite_nio_sqlite3_finalize(statement.handle) }
            statements = [:]
        }
        var statement: OpaquePointer?
        let code = sqlite_nio_sqlite3_prepare_v3(handle, sql, -1, UInt32(SQLITE_PREPARE_PERSISTENT), &statement, nil)
        guard code == SQLITE_OK, let statement else { throw SQLiteSession.failure(code, on: handle) }
        statements[sql] = SQLiteSession.Statement(handle: statement)
        return SQLiteSession.Statement(handle: statement)
    }

    /// The result columns of `statement` (kept for `sql`), read from SQLite once and kept with it until SQLite
    /// prepares it again: a get-status read seven names (seven `String`s) on every run before.
    fileprivate mutating func columns(of sql: String, _ statement: SQLiteSession.Statement) -> [String] {
        let preparedTimes = sqlite_nio_sqlite3_stmt_status(statement.handle, SQLITE_STMTSTATUS_REPREPARE, 0)
        if let columns = statement.columns, statement.preparedTimes == preparedTimes { return columns }
        let columns = (0..<sqlite_nio_sqlite3_column_count(statement.handle)).map {
            String(cString: sqlite_nio_sqlite3_column_name(statement.handle, $0))
        }
        statements[sql]?.columns = columns
        statements[sql]?.preparedTimes = preparedTimes
        return columns
    }
}

/// An error SQLite returned: its (extended) result code and message.
public struct SQLiteFailure: Error, CustomStringConvertible, Sendable {
    /// SQLite's extended result code, e.g. 2067 (`SQLITE_CONSTRAINT_UNIQUE`).
    public let code: Int32
    public let message: String

    public var description: String { "SQLite error \(code): \(message)" }
}

/// One row a statement returned: its column names and values, decoded as SQLiteKit decodes them. A class,
/// so that reading a column through `any SQLRow` (`int64(_:)`, a thousand rows a list) copies nothing.
final class SQLiteRecord: SQLRow, Sendable {
    let columns: [String]
    let values: [SQLiteData]

    init(columns: [String], values: [SQLiteData]) {
        self.columns = columns
        self.values = values
    }

    var allColumns: [String] { columns }

    func contains(column: String) -> Bool {
        columns.contains(column)
    }

    func decodeNil(column: String) throws -> Bool {
        guard let index = columns.firstIndex(of: column) else { return true }
        return values[index] == .null
    }

    func decode<D: Decodable>(column: String, as type: D.Type) throws -> D {
        guard let index = columns.firstIndex(of: column) else {
            throw SQLiteFailure(code: SQLITE_ERROR, message: "No column \(column) in the row (\(columns.joined(separator: ", "))).")
        }
        return try SQLiteDataDecoder().decode(D.self, from: values[index])
    }
}

/// A `SQLiteSession` as SQLKit's `SQLDatabase`, with SQLiteKit's dialect and encoder: the query builders
/// Kiln uses on both engines run on it unchanged. Queries are logged at trace level, as SQLiteKit logs them.
struct SQLiteSessionDatabase: SQLDatabase {
    let session: SQLiteSession

    var logger: Logger { session.logger }
    var eventLoop: any EventLoop { MultiThreadedEventLoopGroup.singleton.any() }
    var version: (any SQLDatabaseReportedVersion)? { nil }
    var dialect: any SQLDialect { SQLiteDialect() }
    var queryLogLevel: Logger.Level? { .trace }

    func execute(sql query: any SQLExpression, _ onRow: @escaping @Sendable (any SQLRow) -> Void) -> EventLoopFuture<Void> {
        do {
            try run(query, onRow)
            return eventLoop.makeSucceededVoidFuture()
        } catch {
            return eventLoop.makeFailedFuture(error)
        }
    }

    func execute(sql query: any SQLExpression, _ onRow: @escaping @Sendable (any SQLRow) -> Void) async throws {
        try run(query, onRow)
    }

    func withSession<R>(_ closure: @escaping @Sendable (any SQLDatabase) async throws -> R) async throws -> R {
        try await closure(self)
    }

    private func run(_ query: any SQLExpression, _ onRow: (any SQLRow) -> Void) throws {
        let (sql, encodables) = serialize(query)
        logger.trace("Executing query", metadata: ["sql": .string(sql), "binds": .array(encodables.map { .string("\($0)") })])
        var encoder: SQLiteDataEncoder? // made for the first bind that needs it
        let binds = try encodables.map { bind in
            if let direct = Self.directData(bind) { return direct }
            let made = encoder ?? SQLiteDataEncoder()
            encoder = made
            return try made.encode(bind)
        }
        try session.run(sql, binds, onRow)
    }

    /// The value SQLiteKit's `SQLiteDataEncoder` gives `bind` when it is one of the types Kiln binds most
    /// (integers, text, blobs), from their own `sqliteData` (the encoder's first answer too); nil for any
    /// other, which the encoder turns into a value. The encoder, made with a `JSONEncoder` and asking each
    /// value whether it conforms to `SQLiteDataConvertible`, cost 1,300 machine instructions a bind
    /// (callgrind), more than the statement of a get-status takes to run.
    static func directData(_ bind: any Encodable) -> SQLiteData? {
        switch bind {
        case let value as Int64: value.sqliteData
        case let value as String: value.sqliteData
        case let value as Data: value.sqliteData
        case let value as ByteBuffer: .blob(value)
        case let value as Int: value.sqliteData
        default: nil
        }
    }
}

extension SQLRow {
    /// The integer in `column`, as `decode(column:as: Int64.self)` gives it; read straight from SQLite's rows,
    /// without a `Decoder`, which costs more than the read itself on a list of a thousand objects.
    public func int64(_ column: String) throws -> Int64 {
        if let record = sqliteRecord, case .integer(let value)? = record.value(column) { return Int64(value) }
        return try decode(column: column, as: Int64.self)
    }

    /// The text in `column`, as `decode(column:as: String.self)` gives it (straight from SQLite's rows).
    public func string(_ column: String) throws -> String {
        if let record = sqliteRecord, case .text(let value)? = record.value(column) { return value }
        return try decode(column: column, as: String.self)
    }

    /// The text in `column`, or nil for NULL, as `decode(column:as: String?.self)` gives it (straight from
    /// SQLite's rows).
    public func optionalString(_ column: String) throws -> String? {
        if let record = sqliteRecord {
            switch record.value(column) {
            case .text(let value)?: return value
            case .null?: return nil
            default: break
            }
        }
        return try decode(column: column, as: String?.self)
    }
}

extension SQLRow {
    /// This row as Kiln's SQLite record, or nil on PostgreSQL. A comparison of types, not `as?`: the dynamic
    /// cast cost 250 machine instructions a column, on a list of 1,000 objects reading 7,000 of them.
    fileprivate var sqliteRecord: SQLiteRecord? {
        Self.self == SQLiteRecord.self ? unsafeBitCast(self, to: SQLiteRecord.self) : nil
    }
}

extension SQLiteRecord {
    /// The value of `column`. Names of another length are passed over without a comparison of strings
    /// (`==` on two strings that differ calls into the standard library): a list of 1,000 objects looks up
    /// 7,000 columns.
    fileprivate func value(_ column: String) -> SQLiteData? {
        let length = column.utf8.count
        return columns.indices.first { columns[$0].utf8.count == length && columns[$0] == column }.map { values[$0] }
    }
}

extension SQLiteData {
    /// The bytes a text or blob value holds; 0 for numbers and NULL.
    fileprivate var byteCount: Int {
        switch self {
        case .text(let text): text.utf8.count
        case .blob(let buffer): buffer.readableBytes
        case .integer, .float, .null: 0
        }
    }
}
