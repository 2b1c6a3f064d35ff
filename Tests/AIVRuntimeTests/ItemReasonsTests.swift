import AIVCore
import Testing

/// The one line that says why the items of a `for_each` ran: each reason once, with its items
/// when it is not every item's.
@Suite struct ItemReasonsTests {
    @Test func oneReasonForEveryItemNeedsNoNumbers() {
        #expect(ItemReasons.summary((0..<4).map { ($0, "no earlier result") }, of: 4) == "no earlier result")
        #expect(ItemReasons.summary([(nil, "argument 'text' changed")], of: 1) == "argument 'text' changed")
    }

    @Test func reasonsNameTheirItemsInOrderOfTheFirstOne() {
        let reasons: [(index: Int?, reason: String)] = [
            (5, "no earlier result"), (0, "argument 'text' changed"), (1, "argument 'text' changed"), (2, "argument 'text' changed"),
            (7, "argument 'text' changed"),
        ]
        #expect(ItemReasons.summary(reasons, of: 18) == "items 0–2, 7: argument 'text' changed; item 5: no earlier result")
        #expect(ItemReasons.summary([(3, "no earlier result"), (4, "no earlier result")], of: 18) == "items 3, 4: no earlier result")
    }

    @Test func manyReasonsAndManyItemsAreCountedPastTheFirstFew() {
        let reasons: [(index: Int?, reason: String)] = (0..<5).map { (i: Int) in (i, "reason \(i)") }
        #expect(ItemReasons.summary(reasons, of: 5) == "item 0: reason 0; item 1: reason 1; item 2: reason 2; and 2 other reasons")
        let scattered: [(index: Int?, reason: String)] = [0, 2, 4, 6, 8, 10, 12, 13, 14, 20, 21, 22, 23].map { ($0, "changed") }
        #expect(ItemReasons.summary(scattered, of: 30) == "items 0, 2, 4, 6, 8, 10 and 7 more: changed")
    }
}
