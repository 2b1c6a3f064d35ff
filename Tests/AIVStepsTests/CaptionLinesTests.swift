import AIVMedia
import AIVText
import Testing

/// Caption lines broken to fit a vertical picture: libass breaks only at spaces.
struct CaptionLinesTests {
    @Test func japaneseIsBrokenBetweenCharactersIntoEvenLinesNotBeforeClosingPunctuation() {
        let line = "ちょっと待って、今なんか音しなかった？"  // 19 wide characters: 38 columns
        let wrapped = CaptionLines.wrap(line, width: 16)
        let lines = wrapped.split(separator: "\n")
        #expect(lines.count == 3)
        #expect(lines.allSatisfy { TextColumns.columns($0) <= 16 }, "\(lines)")
        #expect(lines.joined() == line)
        #expect(!lines.contains { $0.first == "、" || $0.first == "？" || $0.first == "っ" }, "\(lines)")
        // Even, not 8 + 8 + 3.
        #expect(lines.map { TextColumns.columns($0) }.min()! >= 10, "\(lines)")
    }

    @Test func latinTextIsBrokenAtSpacesAndAWordLongerThanALineWhereItMust() {
        #expect(CaptionLines.wrap("Wait, did you hear that?", width: 16) == "Wait, did you\nhear that?")
        #expect(CaptionLines.wrap("supercalifragilistic", width: 8) == "supercal\nifragili\nstic")
        #expect(CaptionLines.wrap("やばい (oh no)", width: 10) == "やばい\n(oh no)")
    }

    @Test func linesThatFitAndLineBreaksAlreadyThereAreKept() {
        #expect(CaptionLines.wrap("草", width: 16) == "草")
        #expect(CaptionLines.wrap("一行目\nsecond line", width: 16) == "一行目\nsecond line")
        #expect(TextColumns.columns("ab草ｱ") == 5)  // half-width katakana is one column
    }

    @Test func anEmojiTakesTwoColumnsHoweverManyScalarsMakeIt() {
        #expect(TextColumns.columns("🚀") == 2 && TextColumns.columns("✨") == 2 && TextColumns.columns("❤️") == 2)
        #expect(TextColumns.columns("👨‍👩‍👧") == 2 && TextColumns.columns("🇯🇵") == 2)
        let rockets = CaptionLines.wrap(String(repeating: "🚀", count: 7), width: 8)
        #expect(rockets.split(separator: "\n").allSatisfy { TextColumns.columns($0) <= 8 }, "\(rockets)")
    }

    @Test func aBackslashAndBracesAreShownNotReadAsLibassMarkup() {
        #expect(CaptionLines.drawable("C:\\N a\\hb") == "C:\\\u{2060}N a\\\u{2060}hb")
        #expect(CaptionLines.drawable("{laughs} 草") == "｛laughs｝ 草")
    }
}
