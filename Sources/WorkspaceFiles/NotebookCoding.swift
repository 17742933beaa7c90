import Foundation
import KilnCore
import NIOCore
import NotebookFormats

/// How notebooks are kept in the database: a small length-prefixed binary form of the cell model, so
/// storing and loading a 10 MB notebook costs little more than copying it. It is written straight into the
/// buffer bound to the statement storing it, which SQLite reads in place (`SQLiteSession`).
///
/// Layout (integers are little-endian `UInt32`, strings are a length then UTF-8 bytes):
/// `"KNB1"`, language, magic style, environment line count (`UInt32.max` for none) and lines, cell count,
/// then per cell: command, title, show-title byte; then the original document: a kind byte (0 none,
/// 1 NotebookV1, 2 JUPYTER) and its compact JSON; last, when the notebook has ids (notebooks stored
/// before Kiln kept them end earlier), the notebook's guid, a count and the nuids of the first cells (none
/// for a SOURCE import, whose nuids derive from the guid: `NotebookIDs.command(_:)`).
enum NotebookCoding {
    static let magic = Array("KNB1".utf8)

    static func encode(_ notebook: Notebook) -> ByteBuffer {
        let original: (kind: UInt8, json: [UInt8])? =
            switch notebook.original {
            case nil: nil
            case .notebookV1(let tree): (1, tree.compactJSON())
            case .jupyter(let tree): (2, tree.compactJSON())
            }
        // Counted first, then written straight into a buffer of that size: gathering the bytes in an array
        // and copying them into the buffer cost a 64 KiB notebook's import 4 % more machine instructions.
        var size = SizeSink()
        write(notebook, original: original, to: &size)
        var buffer = ByteBufferAllocator().buffer(capacity: size.count)
        buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: size.count) { memory in
            var sink = MemorySink(memory: memory)
            write(notebook, original: original, to: &sink)
            precondition(sink.offset == size.count, "NotebookCoding wrote other than it counted")
            return sink.offset
        }
        return buffer
    }

    /// The layout above, written piece by piece to `sink`.
    private static func write(_ notebook: Notebook, original: (kind: UInt8, json: [UInt8])?, to sink: inout some NotebookSink) {
        magic.withUnsafeBytes { sink.bytes($0) }
        sink.string(notebook.language.rawValue)
        sink.string(notebook.magicStyle.rawValue)
        if let environment = notebook.environmentLines {
            sink.integer(environment.count)
            environment.forEach { sink.string($0) }
        } else {
            sink.integer(Int(UInt32.max))
        }
        sink.integer(notebook.cells.count)
        for cell in notebook.cells {
            sink.string(cell.command)
            sink.string(cell.title)
            sink.byte(cell.showTitle ? 1 : 0)
        }
        if let original {
            sink.byte(original.kind)
            sink.integer(original.json.count)
            original.json.withUnsafeBytes { sink.bytes($0) }
        } else {
            sink.byte(0)
        }
        if let ids = notebook.ids {
            sink.string(ids.notebook)
            sink.integer(ids.commands.count)
            ids.commands.forEach { sink.string($0) }
        }
    }

    /// The notebook `bytes` (from `encode`) hold. Throws `CorruptNotebook` for bytes that are not one.
    static func decode(_ bytes: some Collection<UInt8>) throws(CorruptNotebook) -> Notebook {
        var reader = Reader(bytes: [UInt8](bytes))
        guard try reader.take(magic.count).elementsEqual(magic),
            let language = NotebookLanguage(rawValue: try reader.string()),
            let style = MagicStyle(rawValue: try reader.string())
        else { throw CorruptNotebook() }
        var notebook = Notebook(language: language, cells: [], magicStyle: style)
        let environmentCount = try reader.integer()
        if environmentCount != Int(UInt32.max) {
            notebook.environmentLines = try (0..<environmentCount).map { _ throws(CorruptNotebook) in try reader.string() }
        }
        let cellCount = try reader.integer()
        notebook.cells.reserveCapacity(min(cellCount, reader.remaining))
        for _ in 0..<cellCount {
            let command = try reader.string()
            let title = try reader.string()
            notebook.cells.append(Cell(command: command, title: title, showTitle: try reader.take(1).first == 1))
        }
        let kind = try reader.take(1).first
        if kind == 1 || kind == 2 {
            let json = try reader.take(try reader.integer())
            guard let tree = try? JSONTree.parse(json) else { throw CorruptNotebook() }
            notebook.original = kind == 1 ? .notebookV1(tree) : .jupyter(tree)
        }
        if reader.remaining > 0 {
            let guid = try reader.string()
            let count = try reader.integer()
            guard count <= reader.remaining else { throw CorruptNotebook() }
            let commands = try (0..<count).map { _ throws(CorruptNotebook) in try reader.string() }
            notebook.ids = NotebookIDs(notebook: guid, commands: commands)
        }
        return notebook
    }

    /// Stored bytes that are not a notebook: a fault of the store, never of a request.
    struct CorruptNotebook: Error {}

    private struct SizeSink: NotebookSink {
        var count = 0
        mutating func bytes(_ bytes: UnsafeRawBufferPointer) { count += bytes.count }
        mutating func byte(_ byte: UInt8) { count += 1 }
    }

    /// Writes into `memory`, which `SizeSink` counted enough of (a write past its end traps).
    private struct MemorySink: NotebookSink {
        let memory: UnsafeMutableRawBufferPointer
        var offset = 0

        mutating func bytes(_ bytes: UnsafeRawBufferPointer) {
            precondition(offset + bytes.count <= memory.count)
            UnsafeMutableRawBufferPointer(rebasing: memory[offset..<offset + bytes.count]).copyMemory(from: bytes)
            offset += bytes.count
        }

        mutating func byte(_ byte: UInt8) {
            precondition(offset < memory.count)
            memory[offset] = byte
            offset += 1
        }
    }

    private struct Reader {
        let bytes: [UInt8]
        var offset = 0

        var remaining: Int { bytes.count - offset }

        mutating func take(_ count: Int) throws(CorruptNotebook) -> ArraySlice<UInt8> {
            guard count >= 0, count <= remaining else { throw CorruptNotebook() }
            defer { offset += count }
            return bytes[offset..<offset + count]
        }

        mutating func integer() throws(CorruptNotebook) -> Int {
            let slice = try take(4)
            return slice.reversed().reduce(0) { $0 << 8 | Int($1) }
        }

        mutating func string() throws(CorruptNotebook) -> String {
            String(decoding: try take(try integer()), as: UTF8.self)
        }
    }
}

/// Where `NotebookCoding` writes its layout: a count of its bytes, or the memory of the buffer they go to.
private protocol NotebookSink {
    mutating func bytes(_ bytes: UnsafeRawBufferPointer)
    mutating func byte(_ byte: UInt8)
}

extension NotebookSink {
    mutating func integer(_ value: Int) {
        withUnsafeBytes(of: UInt32(truncatingIfNeeded: value).littleEndian) { bytes($0) }
    }

    mutating func string(_ value: String) {
        var value = value
        value.withUTF8 { text in
            integer(text.count)
            bytes(UnsafeRawBufferPointer(text))
        }
    }
}
