import Foundation
import XGateJSON

/// Reading and writing files with limits and safe permissions.
public enum Files {
    /// The largest file read by default (a batch of 1,000 records is about 1 MB).
    public static let defaultLimit = 64 * 1024 * 1024

    /// Reads a whole file, refusing one larger than `limit` bytes.
    public static func read(_ path: String, limit: Int = defaultLimit) throws(FileError) -> [UInt8] {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw FileError(.notFound, path: path, "no such file")
        }
        if isDirectory.boolValue { throw FileError(.unreadable, path: path, "is a directory, expected a file") }
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw FileError(.permission, path: path, "cannot be opened for reading (permission denied?)")
        }
        defer { try? handle.close() }
        let data: Data
        do {
            data = try handle.read(upToCount: limit + 1) ?? Data()
        } catch {
            throw FileError(.unreadable, path: path, "read failed: \(error.localizedDescription)")
        }
        if data.count > limit {
            throw FileError(.tooLarge, path: path, "larger than the limit of \(limit) bytes")
        }
        return Array(data)
    }

    /// Refuses a file holding a secret (a private key, a token) that group or others may read, as ssh does;
    /// `what` names it in the message ("the private key", "the operator token file").
    public static func requirePrivate(_ path: String, _ what: String) throws(FileError) {
        var info = stat()
        guard stat(path, &info) == 0 else { throw FileError(.notFound, path: path, "no such file (\(what))") }
        if info.st_mode & 0o077 != 0 {
            throw FileError(
                .permission, path: path,
                "\(what) is accessible to group or others (mode \(String(info.st_mode & 0o777, radix: 8))); run: chmod 600 \(path)")
        }
    }

    /// Reads and parses one JSON document.
    public static func readJSON(_ path: String, limit: Int = defaultLimit) throws(FileError) -> JSONValue {
        let bytes = try read(path, limit: limit)
        do {
            return try JSONParser().parse(bytes)
        } catch {
            throw FileError(.malformed, path: path, "not valid JSON: \(error)")
        }
    }

    /// Writes a file atomically with the given permissions; refuses to replace an existing file unless `replace`.
    public static func write(_ bytes: [UInt8], to path: String, mode: mode_t = 0o644, replace: Bool = false) throws(FileError) {
        if !replace && FileManager.default.fileExists(atPath: path) {
            throw FileError(.exists, path: path, "already exists; refusing to overwrite it")
        }
        let directory = (path as NSString).deletingLastPathComponent
        let temporary = (directory.isEmpty ? "." : directory) + "/.\((path as NSString).lastPathComponent).\(getpid()).tmp"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL, mode)
        guard fd >= 0 else { throw FileError(.permission, path: path, "cannot create: \(String(cString: strerror(errno)))") }
        var written = 0
        let ok = bytes.withUnsafeBytes { buffer -> Bool in
            while written < buffer.count {
                let n = Foundation.write(fd, buffer.baseAddress! + written, buffer.count - written)
                if n <= 0 { return false }
                written += n
            }
            return fsync(fd) == 0
        }
        fchmod(fd, mode)
        close(fd)
        guard ok else {
            unlink(temporary)
            throw FileError(.unreadable, path: path, "write failed: \(String(cString: strerror(errno)))")
        }
        if replace {
            guard rename(temporary, path) == 0 else {
                unlink(temporary)
                throw FileError(.unreadable, path: path, "write failed: \(String(cString: strerror(errno)))")
            }
        } else {
            // link() refuses an existing target atomically: a file created since the check above is never replaced.
            let linked = link(temporary, path) == 0
            let linkError = errno
            unlink(temporary)
            guard linked else {
                if linkError == EEXIST { throw FileError(.exists, path: path, "already exists; refusing to overwrite it") }
                throw FileError(.unreadable, path: path, "write failed: \(String(cString: strerror(linkError)))")
            }
        }
    }

    /// The JSON files in a directory, sorted; recursive when asked.
    public static func jsonFiles(in directory: String, recursive: Bool = false, suffix: String = ".json") throws(FileError) -> [String] {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw FileError(.notFound, path: directory, "no such directory")
        }
        let names: [String]
        if recursive {
            names = (FileManager.default.enumerator(atPath: directory)?.allObjects as? [String]) ?? []
        } else {
            names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        }
        return names.filter { $0.hasSuffix(suffix) && !($0 as NSString).lastPathComponent.hasPrefix(".") }.sorted()
            .map { directory + "/" + $0 }
    }
}
