/// Why bytes could not be read as a notebook.
public enum NotebookFormatError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The content is not valid UTF-8 text.
    case notUTF8
    /// The header's comment style belongs to another language than the one declared.
    case languageMismatch(declared: NotebookLanguage, headerPrefix: String)
    /// The content is not a valid document of the format; the text says why.
    case invalid(format: String, reason: String)

    public var description: String {
        switch self {
        case .notUTF8:
            "The notebook content is not valid UTF-8 text."
        case .languageMismatch(let declared, let prefix):
            "The content starts with a '\(prefix) Databricks notebook source' header, which does not match language \(declared.rawValue)."
        case .invalid(let format, let reason):
            "The content is not a valid \(format) notebook: \(reason)"
        }
    }
}
