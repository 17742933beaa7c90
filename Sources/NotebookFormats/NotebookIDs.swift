import KilnCore

/// The ids Databricks gives a notebook and its commands (a cell's `nuid`, a command's `guid`, the
/// notebook's `guid`). Kiln makes them when a notebook is stored and keeps them, so that exporting the
/// same notebook twice gives the same bytes (notebook-formats.md §3.1, §4.3).
public struct NotebookIDs: Sendable, Equatable {
    /// The notebook's `guid`.
    public var notebook: String
    /// Each cell's `nuid`, in cell order; a cell past the list has one derived from `notebook` (`command(_:)`).
    public var commands: [String]

    /// Ids as given: the notebook's guid and each cell's nuid in order.
    public init(notebook: String, commands: [String]) {
        self.notebook = notebook
        self.commands = commands
    }

    /// Fresh random ids for a notebook of `cells` cells.
    public static func random(cells: Int) -> NotebookIDs {
        let ids = IdentifierGenerator.uuids(cells + 1)
        return NotebookIDs(notebook: ids[0], commands: Array(ids.dropFirst()))
    }

    /// Ids for a notebook about to be stored: the `nuid`s (and a NotebookV1 model's `guid`) that its
    /// original document carries, so every export names a cell alike; random ones for cells whose document
    /// names none.
    ///
    /// A notebook without an original document (SOURCE, R Markdown) gets a random `guid` alone, and each
    /// cell's `nuid` derives from it (`command(_:)`) when an export needs one: only JUPYTER, HTML and DBC
    /// name cells, and a 64 KiB SOURCE import's 60 random nuids were 5 % of its machine instructions.
    public static func forStoring(_ notebook: Notebook) -> NotebookIDs {
        let kept: [String?]
        var guid: String?
        switch notebook.original {
        case .jupyter(let document)?:
            kept = (document["cells"]?.arrayValue ?? []).map { $0["metadata"]?["application/vnd.databricks.v1+cell"]?["nuid"]?.stringValue }
        case .notebookV1(let model)?:
            guid = model["guid"]?.stringValue
            kept = NotebookV1.cellCommands(of: model).map { $0["nuid"]?.stringValue }
        case nil:
            return NotebookIDs(notebook: IdentifierGenerator.uuid(), commands: [])
        }
        var ids = random(cells: notebook.cells.count)
        if let guid, !guid.isEmpty { ids.notebook = guid }
        for (index, nuid) in kept.prefix(ids.commands.count).enumerated() {
            if let nuid, !nuid.isEmpty { ids.commands[index] = nuid }
        }
        return ids
    }

    /// Ids that are a function of `seed` (for notebooks stored before Kiln kept ids: their object id):
    /// a guid named by the seed, and every cell's nuid derived from it by `command(_:)`.
    public static func derived(seed: String) -> NotebookIDs {
        NotebookIDs(notebook: IdentifierGenerator.uuid(named: "notebook:\(seed)"), commands: [])
    }

    /// The `nuid` of cell `index`; one derived from the notebook's guid past the kept list.
    public func command(_ index: Int) -> String {
        index < commands.count ? commands[index] : IdentifierGenerator.uuid(named: "\(notebook):\(index)")
    }

    /// The NotebookV1 `guid` of cell `index` (Databricks' commands have a `guid` besides the `nuid`).
    public func commandGUID(_ index: Int) -> String {
        IdentifierGenerator.uuid(named: "guid:\(command(index))")
    }
}
