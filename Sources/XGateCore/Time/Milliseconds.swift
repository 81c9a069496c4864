/// A duration in whole milliseconds (logs, timeouts given to other systems in milliseconds).
public func milliseconds(_ duration: Duration) -> Int64 {
    duration.components.seconds * 1000 + duration.components.attoseconds / 1_000_000_000_000_000
}
