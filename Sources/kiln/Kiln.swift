import ArgumentParser

/// `kiln`: the root command only lists the subcommands.
@main
struct Kiln: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kiln",
        abstract: "A self-hosted implementation of the Databricks platform APIs.",
        subcommands: [Serve.self, Admin.self]
    )
}
