/// File names as file systems limit them.
public enum FileNames {
    /// The longest file name (not path) Linux and macOS file systems take, in bytes.
    public static let maximumBytes = 255

    /// `name` cut to at most `bytes` bytes of UTF-8, at a character's end: the stem of a hidden
    /// temporary name, whose own suffix would push a long (Japanese) name past `maximumBytes`.
    public static func prefix(of name: String, bytes: Int) -> String {
        guard name.utf8.count > bytes else { return name }
        var kept = ""
        var count = 0
        for character in name {
            let size = character.utf8.count
            if count + size > bytes { break }
            kept.append(character)
            count += size
        }
        return kept
    }
}
