/// One problem found in a workflow, prompt or input file, with where it is.
///
/// Loading and checking collect every diagnostic instead of stopping at the first, so a user
/// sees all problems of a file at once.
public struct Diagnostic: Error, Hashable, Codable, Sendable, CustomStringConvertible {
    public enum Severity: String, Codable, Sendable, Comparable {
        case warning, error
        public static func < (a: Severity, b: Severity) -> Bool { a == .warning && b == .error }
    }

    /// A secondary location that explains the main one ("first defined here").
    public struct Note: Hashable, Codable, Sendable {
        public var message: String
        public var location: SourceLocation?
        public init(_ message: String, at location: SourceLocation? = nil) {
            self.message = message
            self.location = location
        }
    }

    public var severity: Severity
    public var message: String
    public var location: SourceLocation?
    /// How many columns the caret underline covers (1 when unknown).
    public var length: Int
    public var notes: [Note]

    public init(_ severity: Severity, _ message: String, at location: SourceLocation?, length: Int = 1, notes: [Note] = []) {
        self.severity = severity
        self.message = message
        self.location = location
        self.length = max(1, length)
        self.notes = notes
    }

    public static func error(_ message: String, at location: SourceLocation?, length: Int = 1, notes: [Note] = []) -> Diagnostic {
        Diagnostic(.error, message, at: location, length: length, notes: notes)
    }

    public static func warning(_ message: String, at location: SourceLocation?, length: Int = 1, notes: [Note] = []) -> Diagnostic {
        Diagnostic(.warning, message, at: location, length: length, notes: notes)
    }

    /// `file:line:col: error: message`, the form compilers use, so editors can jump to it.
    public var description: String {
        let prefix = location.map { "\($0): " } ?? ""
        return "\(prefix)\(severity.rawValue): \(message)"
    }
}

/// Diagnostics collected while loading or checking; errors and warnings in the order found.
public struct Diagnostics: Sendable, Codable, Error, CustomStringConvertible {
    public private(set) var items: [Diagnostic] = []

    public init(_ items: [Diagnostic] = []) { self.items = items }

    public var hasErrors: Bool { items.contains { $0.severity == .error } }
    public var errors: [Diagnostic] { items.filter { $0.severity == .error } }
    public var warnings: [Diagnostic] { items.filter { $0.severity == .warning } }
    public var isEmpty: Bool { items.isEmpty }

    public mutating func append(_ diagnostic: Diagnostic) { items.append(diagnostic) }
    public mutating func append(contentsOf other: Diagnostics) { items.append(contentsOf: other.items) }
    public mutating func append(contentsOf other: [Diagnostic]) { items.append(contentsOf: other) }

    public mutating func error(_ message: String, at location: SourceLocation?, length: Int = 1, notes: [Diagnostic.Note] = []) {
        items.append(.error(message, at: location, length: length, notes: notes))
    }

    public mutating func warning(_ message: String, at location: SourceLocation?, length: Int = 1, notes: [Diagnostic.Note] = []) {
        items.append(.warning(message, at: location, length: length, notes: notes))
    }

    /// Sorted by file, line and column, errors before warnings at the same place; duplicates dropped.
    public var sorted: [Diagnostic] {
        var seen = Set<Diagnostic>()
        return items.filter { seen.insert($0).inserted }.sorted { a, b in
            let la = a.location, lb = b.location
            if la?.file != lb?.file { return (la?.file ?? "") < (lb?.file ?? "") }
            if la?.line != lb?.line { return (la?.line ?? 0) < (lb?.line ?? 0) }
            if la?.column != lb?.column { return (la?.column ?? 0) < (lb?.column ?? 0) }
            if a.severity != b.severity { return a.severity > b.severity }
            return a.message < b.message
        }
    }

    public var description: String { sorted.map(\.description).joined(separator: "\n") }
}
