/// Which changed files count: by extension, skipping editor droppings (dot-files such as `.x.swp`,
/// backups ending in `~`, vim's `4913` probe), plus an optional predicate of your own.
///
/// ```swift
/// var filter = FileFilter(extensions: ["swift", "html", "json"])
/// filter.include = { path in !path.contains("/.build/") }
/// ```
public struct FileFilter: Sendable {
    /// Extensions (without the dot) that count; nil: every file.
    public var extensions: Set<String>?
    /// Skip names starting with `.`, ending with `~`, and `4913`.
    public var skipEditorFiles = true
    /// A last say on full paths that passed the rest.
    public var include: (@Sendable (String) -> Bool)?

    public init(extensions: Set<String>? = nil) {
        self.extensions = extensions
    }

    /// Whether a change to `path` counts.
    public func matches(_ path: String) -> Bool {
        let name = path.split(separator: "/").last.map(String.init) ?? path
        if skipEditorFiles && (name.hasPrefix(".") || name.hasSuffix("~") || name == "4913") { return false }
        if let extensions {
            guard let dot = name.lastIndex(of: "."), extensions.contains(String(name[name.index(after: dot)...])) else {
                return false
            }
        }
        return include?(path) ?? true
    }
}
