import Foundation
import KilnCore
import NotebookFormats
import Testing
@testable import WorkspaceFiles

/// The import decisions that need no database.
@Suite struct ImportRulesTests {
    static func plan(_ path: String, _ format: WorkspaceFormat, _ text: String, language: NotebookLanguage? = nil) throws -> ObjectPlan {
        let plan = try ImportPlan.make(
            for: ImportRequest(
                path: WorkspacePath(path), format: format, language: language, content: Array(text.utf8), overwrite: false))
        guard case .object(let object) = plan else { throw PlanWasATree() }
        return object
    }

    struct PlanWasATree: Error {}

    @Test(arguments: [
        ("/a/job.py", "# Databricks notebook source\nx", "/a/job", ObjectType.notebook),
        ("/a/job.scala", "// Databricks notebook source\nx", "/a/job", .notebook),
        ("/a/job.sql", "-- Databricks notebook source\nx", "/a/job", .notebook),
        ("/a/job.R", "# Databricks notebook source\nx", "/a/job", .notebook),
        ("/a/job.py", "print(1)", "/a/job.py", .file),
        ("/a/job.scala", "# Databricks notebook source\nx", "/a/job.scala", .file),
        ("/a/notes.txt", "# Databricks notebook source", "/a/notes.txt", .file),
        ("/a/noext", "# Databricks notebook source", "/a/noext", .file),
    ])
    func autoDecidesByExtensionAndHeader(path: String, text: String, stored: String, type: ObjectType) throws {
        let plan = try Self.plan(path, .auto, text)
        #expect(plan.path.value == stored && plan.objectType == type)
    }

    @Test func sourceNeedsALanguage() {
        #expect(throws: KilnError.self) { try Self.plan("/nb", .source, "x") }
    }

    @Test func sourceKeepsThePathAsGiven() throws {
        let plan = try Self.plan("/nb.py", .source, "x", language: .python)
        #expect(plan.path.value == "/nb.py" && plan.objectType == .notebook)
    }

    @Test func rawIsAlwaysAFile() throws {
        #expect(try Self.plan("/job.py", .raw, "# Databricks notebook source\nx").objectType == .file)
    }

    @Test(arguments: [
        (WorkspaceFormat.html, "no model here"), (.jupyter, "{\"cells\": 1}"), (.dbc, "not a zip"),
        (.rMarkdown, "text\n```{r}\nunclosed chunk"),
    ])
    func richFormatsRefuseContentThatIsNotTheirs(format: WorkspaceFormat, content: String) {
        #expect(throws: KilnError.self) { try Self.plan("/nb", format, content) }
    }

    @Test func dbcRefusesOverwrite() {
        #expect(throws: KilnError.self) {
            try ImportPlan.make(
                for: ImportRequest(
                    path: WorkspacePath("/nb"), format: .dbc, language: nil, content: [0x50, 0x4B], overwrite: true))
        }
    }

    @Test func sizeLimitIsTenMegabytes() throws {
        let limit = WorkspaceService.maximumContentSize
        _ = try ImportPlan.make(
            for: ImportRequest(
                path: WorkspacePath("/ok"), format: .raw, language: nil, content: [UInt8](repeating: 0, count: limit), overwrite: false))
        #expect(throws: KilnError.self) {
            try ImportPlan.make(
                for: ImportRequest(
                    path: WorkspacePath("/big"), format: .raw, language: nil, content: [UInt8](repeating: 0, count: limit + 1), overwrite: false))
        }
    }

    @Test func invalidUTF8NotebookIsRefused() {
        #expect(throws: KilnError.self) {
            try ImportPlan.make(
                for: ImportRequest(
                    path: WorkspacePath("/nb"), format: .source, language: .python, content: [0xFF, 0xFE], overwrite: false))
        }
    }
}
