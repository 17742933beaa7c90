import Foundation
import KilnCore
import NIOCore
import NotebookFormats

/// How notebooks are kept in the database: a small length-prefixed binary form of the cell model, so
/// storing and loading a 10 MB notebook costs little more than copying it. It is gathered in an array, then
/// copied once into the buffer bound to the statement storing it, which SQLite reads in place (`SQLiteSession`).
///
/// Layout (integers are little-endian `UInt32`, strings are a length then UTF-8 bytes):
/// `"KNB1"`, language, magic style, environment line count (`UInt32.max` for none) and lines, cell count,
/// then per cell: command, title, show-title byte; then the original document: a kind byte (0 none,
/// 1 NotebookV1, 2 JUPYTER) and its compact JSON; last, when the notebook has ids (notebooks stored
/// before Kiln kept them end earlier), the notebook's guid, a count and each cell's nuid.
enum NotebookCoding {
    static let magic = Array("KNB1".utf8)

    static func encode(_ notebook: Notebook) -> ByteBuffer {
        var writer = Writer()
        // Room for the cells and their ids, so a large notebook is not copied as the bytes grow.
        writer.bytes.reserveCapacity(notebook.cells.reduce(64) { $0 + $1.command.utf8.count + $1.title.utf8.count + 49 })
        writer.bytes.append(contentsOf: magic)
        writer.string(notebook.language.rawValue)
        writer.string(notebook.magicStyle.rawValue)
        if let environment = notebook.environmentLines {
            writer.integer(environment.count)
            environment.forEach { writer.string($0) }
        } else {
            writer.integer(Int(UInt32.max))
        }
        writer.integer(notebook.cells.count)
        for cell in notebook.cells {
            writer.string(cell.command)
            writer.string(cell.title)
            writer.bytes.append(cell.showTitle ? 1 : 0)
        }
        switch notebook.original {
        case nil:
            writer.bytes.append(0)
        case .notebookV1(let tree):
            writer.bytes.append(1)
            writer.blob(tree.compactJSON())
        case .jupyter(let tree):
            writer.bytes.append(2)
            writer.blob(tree.compactJSON())
        }
        if let ids = notebook.ids {
            writer.string(ids.notebook)
            writer.integer(ids.commands.count)
            ids.commands.forEach { writer.string($0) }
        }
        // Gathered in an array, whose appends cost a few instructions where a `ByteBuffer`'s cost about a hundred
        // (a 64 KiB notebook's few hundred writes took more than the one copy here).
        return ByteBuffer(bytes: writer.bytes)
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

    private struct Writer {
        var bytes: [UInt8] = []

        mutating func integer(_ value: Int) {
            withUnsafeBytes(of: UInt32(truncatingIfNeeded: value).littleEndian) { bytes.append(contentsOf: $0) }
        }

        mutating func string(_ value: String) {
            integer(value.utf8.count)
            bytes.append(contentsOf: value.utf8)
        }

        mutating func blob(_ value: [UInt8]) {
            integer(value.count)
            bytes.append(contentsOf: value)
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
