import Testing
@testable import NotebookFormats

/// The full conversion matrix on generated notebooks: each format → each other → back keeps the cells.
@Suite struct ConversionMatrixPropertyTests {
    enum Format: String, CaseIterable {
        case source, jupyter, html, dbc, rMarkdown
    }

    static func write(_ notebook: Notebook, as format: Format) -> [UInt8] {
        switch format {
        case .source: Array(SourceFormat.render(notebook).utf8)
        case .jupyter: JupyterFormat.write(notebook, name: "n")
        case .html: HTMLFormat.write(notebook, name: "n", objectID: 1)
        case .dbc: DBCArchive.write([.notebook(folder: [], name: "n", model: NotebookV1.model(for: notebook, name: "n", objectID: 1))])
        case .rMarkdown: RMarkdownFormat.write(notebook, name: "n")
        }
    }

    static func read(_ bytes: [UInt8], as format: Format, language: NotebookLanguage) throws -> Notebook {
        switch format {
        case .source: return try SourceFormat.parse(String(decoding: bytes, as: UTF8.self), language: language)
        case .jupyter: return try JupyterFormat.read(bytes)
        case .html: return try HTMLFormat.read(bytes)
        case .dbc:
            guard case .notebook(_, _, let model)? = try DBCArchive.read(bytes, maximumSize: 1 << 24).first else {
                throw NotebookFormatError.invalid(format: "DBC", reason: "empty")
            }
            return try NotebookV1.notebook(from: model)
        case .rMarkdown: return try RMarkdownFormat.read(String(decoding: bytes, as: UTF8.self))
        }
    }

    static let pairs: [(Format, Format)] = Format.allCases.flatMap { a in Format.allCases.map { (a, $0) } }

    @Test(arguments: 0..<25)
    func everyPairRoundTrips(seed: Int) throws {
        var notebook = SourceRoundTripPropertyTests.randomNotebook(seed: UInt64(seed))
        notebook.language = .r // every format, R_MARKDOWN included, can hold an R notebook
        for (first, second) in Self.pairs {
            let a = try Self.read(Self.write(notebook, as: first), as: first, language: .r)
            let b = try Self.read(Self.write(a, as: second), as: second, language: .r)
            let back = try Self.read(Self.write(b, as: first), as: first, language: .r)
            #expect(back.cells == notebook.cells, "seed \(seed): \(first) → \(second) → \(first)")
        }
    }

    @Test(arguments: 0..<25)
    func everyPairRoundTripsForOtherLanguages(seed: Int) throws {
        let notebook = SourceRoundTripPropertyTests.randomNotebook(seed: UInt64(1000 + seed))
        let formats = Format.allCases.filter { $0 != .rMarkdown }
        for first in formats {
            for second in formats {
                let a = try Self.read(Self.write(notebook, as: first), as: first, language: notebook.language)
                let b = try Self.read(Self.write(a, as: second), as: second, language: notebook.language)
                #expect(b.cells == notebook.cells && b.language == notebook.language, "seed \(seed): \(first) → \(second)")
            }
        }
    }
}
