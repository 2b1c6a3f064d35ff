import Testing
@Test func stepsTargetBuilds() { #expect(Bool(true)) }
