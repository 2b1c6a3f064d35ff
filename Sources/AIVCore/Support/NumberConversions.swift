extension Int {
    /// `value` toward zero, held within `range` (NaN gives the range's lower bound). `Int(_:)`
    /// traps on a number that does not fit, and these numbers come from workflows, fixtures and
    /// servers: a count of `1e30` tokens must not stop the run.
    public init(clamping value: Double, to range: ClosedRange<Int>) {
        if value.isNaN || value <= Double(range.lowerBound) {
            self = range.lowerBound
        } else if value >= Double(range.upperBound) {
            self = range.upperBound
        } else {
            self = Int(value)
        }
    }
}

extension Double {
    /// Whole nanoseconds for a wait of this many seconds: 0 for a negative or NaN span, at most a
    /// year for a longer one, so `UInt64(_:)` cannot trap on it.
    public var sleepNanoseconds: UInt64 {
        guard self > 0 else { return 0 }
        return UInt64(Swift.min(self, 366 * 86400) * 1e9)
    }
}

extension Double {
    /// A finite number written in decimal (`12`, `-1.5`, `.5`, `2e3`), or nil. `Double(_:)` alone
    /// also reads hexadecimal (`0x10` as 16) and `inf`, which no one means by a count or a span.
    public init?(decimal text: String) {
        guard !text.isEmpty, text.utf8.allSatisfy({ ($0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9")) || "+-.eE".utf8.contains($0) }),
              let value = Double(text), value.isFinite else { return nil }
        self = value
    }
}
