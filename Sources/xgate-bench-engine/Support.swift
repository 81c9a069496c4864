// Small helpers of the engine benchmark: flags, time, memory, the engine's clock and randomness, the registry.
import Foundation
import XGateCore
import XGateEngine
import XGateFileSystem
import XGateJOSE
import XGateTestSupport

/// The command line: `--batches N`, `--runs N`, `--no-million`, `--million-records N`, `--dir PATH`, `--keep`.
struct Options {
    var batches = 200
    var runs = 3
    var million = true
    var millionRecords = 1_000_000
    /// Which node receives the long phase: the partner (default; relays nothing) or the city (relays to 12 partners:
    /// about 20 KB of database per record, so 1,000,000 records write ~20 GB).
    var millionNode = "partner"
    /// Where the fresh databases and the ceiling's batch files go (default: the system temp dir, on the repo's disk).
    var directory = NSTemporaryDirectory()
    var keep = false
    /// Internal: this process is the child that runs the long phase alone, so its peak RSS is its own.
    var millionChild = false
    /// Only the city's pipelined receive and the records + history ceiling, one summary line (for `make bench-e2e`).
    var cityOnly = false
    /// Only the district → city run in process (for profiling its making of batches).
    var twoNodesOnly = false

    static func parse(_ arguments: [String]) -> Options {
        var options = Options()
        var i = 1
        func value() -> String {
            guard i + 1 < arguments.count else { fail("\(arguments[i]) needs a value") }
            i += 1
            return arguments[i]
        }
        func number(_ text: String, _ name: String) -> Int {
            guard let n = Int(text.replacingOccurrences(of: "_", with: "")), n > 0 else { fail("\(name) must be a positive integer") }
            return n
        }
        while i < arguments.count {
            switch arguments[i] {
            case "--batches": options.batches = number(value(), "--batches")
            case "--runs": options.runs = number(value(), "--runs")
            case "--no-million": options.million = false
            case "--million": options.million = true
            case "--million-records": options.millionRecords = number(value(), "--million-records")
            case "--million-node":
                options.millionNode = value()
                guard ["partner", "city"].contains(options.millionNode) else { fail("--million-node is partner or city") }
            case "--dir": options.directory = value()
            case "--keep": options.keep = true
            case "--million-child": options.millionChild = true
            case "--city-only": options.cityOnly = true
            case "--two-nodes-only": options.twoNodesOnly = true
            case "-h", "--help":
                print(
                    """
                    usage: xgate-bench-engine [--batches N] [--runs N] [--no-million] [--million-records N] [--million-node partner|city]
                              [--dir PATH] [--keep] [--city-only] [--two-nodes-only]
                      --batches N          batches of 1,000 records per run (default 200)
                      --runs N             runs per figure; the median is printed (default 3)
                      --no-million         skip the long phase (1,000,000 records, peak memory)
                      --million-records N  records in the long phase (default 1,000,000)
                      --million-node NODE  who receives the long phase: partner (default, relays nothing) or city
                                           (relays to 12 partners: ~20 KB of database per record, ~20 GB for 1,000,000)
                      --dir PATH           where the fresh databases go (default the temp dir; must not be tmpfs to be fair)
                      --keep               keep the databases and batch files
                      --city-only          only the city's pipelined receive, the records + history ceiling, and the
                                           district → city run in process (make bench-e2e)
                      --two-nodes-only     only the district → city run in process (徐汇's engine makes and sends, the
                                           city's applies), for profiling
                    """)
                exit(0)
            default: fail("unknown argument \(arguments[i]) (try --help)")
            }
            i += 1
        }
        return options
    }
}

func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data("xgate-bench-engine: \(message)\n".utf8))
    exit(70)
}

/// Prints at once (stdout is a pipe under make and the parent process).
func say(_ line: String = "") {
    FileHandle.standardOutput.write(Data((line + "\n").utf8))
}

func now() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}

func median(_ values: [Double]) -> Double { values.sorted()[values.count / 2] }

/// Peak resident set size of this process, in MB (Linux reports `ru_maxrss` in KiB).
func peakRSSMB() -> Double { Double(peakRSSKiB()) / 1024 }

/// `ru_maxrss` of this process (KiB on Linux).
func peakRSSKiB() -> Int {
    var usage = rusage()
    getrusage(0, &usage)  // RUSAGE_SELF
    return usage.ru_maxrss
}

/// `VmHWM` of /proc/self/status in KiB: the peak RSS of this process's own address space (unlike ru_maxrss, it does
/// not start from the parent's RSS at the spawn).
func highWaterKiB() -> Int {
    guard let text = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return 0 }
    for line in text.split(separator: "\n") where line.hasPrefix("VmHWM:") {
        return Int(line.split(separator: " ").dropFirst().first { Int($0) != nil } ?? "") ?? 0
    }
    return 0
}

/// Current resident set size, in MB (from /proc/self/statm), to show memory does not grow with the records applied.
func currentRSSMB() -> Double {
    guard let text = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return 0 }
    let fields = text.split(separator: " ")
    guard fields.count > 1, let pages = Double(fields[1]) else { return 0 }
    return pages * Double(sysconf(Int32(_SC_PAGESIZE))) / 1_048_576
}

/// Bytes of every file in a directory whose name starts with `prefix` (the database, its WAL and shm).
func fileBytes(_ directory: String, prefix: String) -> Int {
    let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
    return names.filter { $0.hasPrefix(prefix) }.reduce(0) { total, name in
        let size = (try? FileManager.default.attributesOfItem(atPath: directory + "/" + name)[.size] as? NSNumber)?.intValue ?? 0
        return total + size
    }
}

/// The file system type of a directory, from /proc/mounts (to warn when tmpfs would flatter the disk).
func fileSystemType(_ path: String) -> String {
    let resolved = URL(fileURLWithPath: path).resolvingSymlinksInPath().path
    guard let mounts = try? String(contentsOfFile: "/proc/mounts", encoding: .utf8) else { return "unknown" }
    var best = (point: "", type: "unknown", device: "")
    for line in mounts.split(separator: "\n") {
        let fields = line.split(separator: " ").map(String.init)
        guard fields.count > 2 else { continue }
        let point = fields[1]
        let inside = point == "/" || resolved == point || resolved.hasPrefix(point + "/")
        if inside && point.count >= best.point.count { best = (point, fields[2], fields[0]) }
    }
    return "\(best.type) on \(best.device)"
}

func grouped(_ value: Double) -> String {
    let n = Int(value.rounded())
    let digits = Array(String(abs(n)))
    var out = ""
    for (i, c) in digits.enumerated() {
        if i > 0 && (digits.count - i) % 3 == 0 { out.append(",") }
        out.append(c)
    }
    return (n < 0 ? "-" : "") + out
}

/// A clock that stands still: every batch is received "now", a few minutes after it was signed.
struct FixedClock: EngineClock {
    let time: Timestamp
    func now() -> Timestamp { time }
}

/// Seeded batch and receipt ids (UUIDv7-shaped), as in the engine tests.
final class SeededRandom: EngineRandom, @unchecked Sendable {
    private let lock = NSLock()
    private var generator: SeededGenerator
    init(seed: UInt64) { generator = SeededGenerator(seed: seed) }
    func unit() -> Double { lock.withLock { Double(generator.next() >> 11) / Double(1 << 53) } }
    func batchID(at time: Timestamp) -> String {
        let bits = lock.withLock { (generator.next(), generator.next()) }
        return UUIDv7.string(milliseconds: UInt64(max(0, time.seconds)) * 1000, a: bits.0, b: bits.1)
    }
}

/// The real federation (Peers/) with fresh keys for the nodes the benchmark plays, as the engine tests build it.
enum BenchRegistry {
    static func make(nodes: [String]) throws -> (Federation, ContractSet, [String: SigningKey]) {
        let contracts = try ContractsDirectory.load(RepositoryPaths.contracts)
        var federation = try PeersDirectory.load(RepositoryPaths.peers, contracts: contracts)
        var keys: [String: SigningKey] = [:]
        for node in nodes {
            let key = SigningKey.generate(node: node)
            keys[node] = key
            guard var peer = federation.peers[node] else { fail("\(node) is not in Peers/") }
            peer.keys = [
                Peer.Key(
                    kid: key.kid, jwk: key.publicJWK, publicKey: key.publicKey,
                    notBefore: Timestamp("2026-01-01T00:00:00+08:00")!, notAfter: Timestamp("2027-12-31T23:59:59+08:00")!)
            ]
            federation.peers[node] = peer
        }
        return (federation, contracts, keys)
    }
}
