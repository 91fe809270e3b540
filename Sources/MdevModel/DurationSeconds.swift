extension Duration {
    /// The duration in seconds, fractions included (for a timeout in seconds, a histogram, a figure).
    public var inSeconds: Double {
        Double(components.seconds) + Double(components.attoseconds) / 1e18
    }
}
