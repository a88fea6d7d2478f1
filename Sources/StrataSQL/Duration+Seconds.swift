/// A `Duration` in seconds, for timeouts, sleeps and timings printed or stored.
extension Duration {
    /// The seconds as a `Double`, the attoseconds folded in.
    package var seconds: Double {
        let (s, atto) = components
        return Double(s) + Double(atto) / 1e18
    }
}
