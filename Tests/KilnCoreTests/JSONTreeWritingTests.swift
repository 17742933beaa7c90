import KilnCore
import Testing

@Suite struct JSONTreeWritingTests {
    private func compact(_ tree: JSONTree) -> String { String(decoding: tree.compactJSON(), as: UTF8.self) }
    private func notebook(_ tree: JSONTree) -> String { String(decoding: tree.databricksNotebookJSON(), as: UTF8.self) }

    @Test func compactHasNoSpacesAndKeepsKeyOrder() {
        let tree = JSONTree.object([
            .init("z", .number("1.0")), .init("a", .array([.null, .bool(true), .bool(false), .array([]), .object([])])),
            .init("m", .object([.init("k", .string("v"))])),
        ])
        #expect(compact(tree) == #"{"z":1.0,"a":[null,true,false,[],{}],"m":{"k":"v"}}"#)
    }

    @Test(arguments: [
        ("plain", #""plain""#),
        ("quote \" backslash \\", #""quote \" backslash \\""#),
        ("a/b", #""a/b""#),
        ("\n\r\t\u{8}\u{C}", #""\n\r\t\b\f""#),
        ("\u{0}\u{1B}\u{1F}", #""\u0000\u001B\u001F""#),
        ("\u{7F} é — 🔥 \u{2028}", "\"\u{7F} é — 🔥 \u{2028}\""),
    ])
    func compactEscapesLikeJackson(text: String, expected: String) {
        #expect(compact(.string(text)) == expected)
        #expect(compact(.object([.init(text, .null)])) == "{\(expected):null}")
    }

    @Test func compactRoundTripsJacksonTextByteForByte() throws {
        let text =
            #"{"version":"NotebookV1","position":1.0,"big":1.10017465E8,"small":1.0E-4,"neg":-0.0,"#
            + #""s":"a/b \u001B é 🔥 \"q\" \\ \n\t","arr":[],"obj":{},"n":null,"t":true,"f":false,"#
            + #""nested":[{"x":[1,2,{"y":[[]]}]}],"dup":1,"dup":2}"#
        let bytes = Array(text.utf8)
        #expect(try JSONTree.parse(bytes).compactJSON() == bytes)
    }

    @Test func parsingCompactOutputGivesTheTreeBack() throws {
        let tree = JSONTree.object([
            .init("s", .string("\u{0}\u{1}\"\\/\n é 😀")), .init("n", .number("-1.5E-7")),
            .init("a", .array([.object([.init("", .string(""))]), .null])),
        ])
        #expect(try JSONTree.parse(tree.compactJSON()) == tree)
    }

    @Test func notebookJSONIsIndentedByOneSortedAndEndsWithANewline() {
        let tree = JSONTree.object([
            .init("nbformat", .integer(4)),
            .init("cells", .array([.object([.init("source", .array([.string("x")])), .init("cell_type", .string("code"))])])),
            .init("metadata", .object([])),
            .init("outputs", .array([])),
        ])
        #expect(
            notebook(tree) == """
                {
                 "cells": [
                  {
                   "cell_type": "code",
                   "source": [
                    "x"
                   ]
                  }
                 ],
                 "metadata": {},
                 "nbformat": 4,
                 "outputs": []
                }

                """)
    }

    @Test func notebookJSONWritesScalarsAtTheTopLevel() {
        #expect(notebook(.null) == "null\n")
        #expect(notebook(.number("1.5")) == "1.5\n")
        #expect(notebook(.string("é")) == "\"é\"\n")
        #expect(notebook(.array([])) == "[]\n")
    }

    @Test func notebookKeysSortByCodeUnitsNotByInsertion() {
        let tree = JSONTree.object([.init("b", .null), .init("B", .null), .init("a", .null), .init("é", .null), .init("_", .null)])
        #expect(notebook(tree) == "{\n \"B\": null,\n \"_\": null,\n \"a\": null,\n \"b\": null,\n \"é\": null\n}\n")
    }

    @Test(arguments: [
        ("🔥", #""\uD83D\uDD25""#),
        ("a😀b", #""a\uD83D\uDE00b""#),
        ("é — \u{FE0F}", "\"é — \u{FE0F}\""),
        ("\u{1B}\u{0}", #""\u001b\u0000""#),
        ("\"\\/\n\t", #""\"\\/\n\t""#),
    ])
    func notebookStringsEscapeLikeDatabricksPython(text: String, expected: String) {
        #expect(notebook(.string(text)) == expected + "\n")
        #expect(notebook(.object([.init(text, .bool(true))])) == "{\n \(expected): true\n}\n")
    }

    @Test func notebookJSONRoundTripsADatabricksIpynbByteForByte() throws {
        let text = #"""
            {
             "cells": [
              {
               "cell_type": "code",
               "execution_count": null,
               "metadata": {
                "application/vnd.databricks.v1+cell": {
                 "showTitle": false,
                 "title": "\uD83D\uDD25 fire"
                }
               },
               "outputs": [],
               "source": [
                "print(\"é\")\n",
                "x = 1.0"
               ]
              }
             ],
             "metadata": {},
             "nbformat": 4,
             "nbformat_minor": 0
            }

            """#
        let bytes = Array(text.utf8)
        let tree = try JSONTree.parse(bytes)
        #expect(tree["cells"]?.arrayValue?.first?["metadata"]?["application/vnd.databricks.v1+cell"]?["title"] == .string("🔥 fire"))
        #expect(tree.databricksNotebookJSON() == bytes)
    }
}
