import ArgumentParser
import KilnApp

/// Where Kiln's data is: `kiln serve` and every `kiln admin` command take these.
struct StoreOptions: ParsableArguments {
    @Option(help: "Where Kiln keeps its data (KILN_DATA_DIR; default ./.kiln).") var dataDir: String?
    @Option(help: "postgres:// URL of the metadata database (KILN_DATABASE_URL; default SQLite in the data dir).")
    var databaseURL: String?

    func configuration() throws -> KilnConfiguration {
        do {
            return try KilnConfiguration.resolve(dataDirectory: dataDir, databaseURL: databaseURL)
        } catch let error as ConfigurationError {
            throw ValidationError(error.description)
        }
    }
}
