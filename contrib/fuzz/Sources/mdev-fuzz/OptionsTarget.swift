import MdevCLI

/// Command lines, one argument a line: parsing and validating any of them never traps, and the daemon's
/// timing that a `run` accepts holds only durations any clock can wait for (from 1 ms to a day).
let optionsTarget = FuzzTarget(name: "options") { bytes in
    guard let input = text(bytes) else { return }
    let arguments = input.split(separator: "\n", omittingEmptySubsequences: false).prefix(16).map(String.init)
    guard let command = try? MdevReconcilerCommand.parseCommand(arguments),
          let timing = MdevReconcilerCommand.runTiming(of: command)
    else { return }
    for duration in [timing.quietPeriod, timing.maximumDelay, timing.writeDeadline, timing.sriovManageDeadline] {
        invariant(duration >= .milliseconds(1) && duration <= .seconds(86_400), "run accepted a duration of \(duration)")
    }
}
