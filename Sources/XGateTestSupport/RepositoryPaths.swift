import Foundation

/// Where things are in the checkout, for tests and benchmarks.
public enum RepositoryPaths {
    /// The repository root: found by walking up from this file (symlinks resolved) to the directory with Package.swift.
    public static let root: String = {
        var url = URL(fileURLWithPath: #filePath).resolvingSymlinksInPath().deletingLastPathComponent()
        for _ in 0..<8 {
            if FileManager.default.fileExists(atPath: url.appendingPathComponent("Package.swift").path) { return url.path }
            url = url.deletingLastPathComponent()
        }
        return FileManager.default.currentDirectoryPath
    }()

    /// `Contracts/`.
    public static var contracts: String { root + "/Contracts" }
    /// `Peers/`.
    public static var peers: String { root + "/Peers" }
    /// The built `xgate` executable beside the test bundle (debug or release, whichever is being tested).
    public static var xgate: String {
        if let explicit = ProcessInfo.processInfo.environment["XGATE_BIN"] { return explicit }
        let bundle = Bundle.main.bundleURL.deletingLastPathComponent()
        for candidate in [bundle.appendingPathComponent("xgate").path, root + "/.build/debug/xgate"]
        where FileManager.default.isExecutableFile(atPath: candidate) {
            return candidate
        }
        return root + "/.build/debug/xgate"
    }
}
