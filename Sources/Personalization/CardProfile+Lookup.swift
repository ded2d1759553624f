import Foundation

extension CardProfile {
    /// The names of the built-in profiles.
    public static var builtInNames: [String] { builtInYAML.keys.sorted() }

    /// A built-in profile by name (`vn-cccd-2021`), or a YAML file by path (anything with a `/` or ending in
    /// `.yaml`/`.yml`).
    public init(nameOrPath: String) throws {
        if let text = Self.builtInYAML[nameOrPath] {
            try self.init(yaml: text)
        } else if nameOrPath.contains("/") || nameOrPath.hasSuffix(".yaml") || nameOrPath.hasSuffix(".yml") {
            try self.init(contentsOf: nameOrPath)
        } else {
            throw PreparationError(
                reason:
                    "no built-in profile named \(nameOrPath) (built in: \(Self.builtInNames.joined(separator: ", "))); give a path to a YAML file for your own"
            )
        }
    }
}
