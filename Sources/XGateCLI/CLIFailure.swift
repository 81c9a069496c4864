import ArgumentParser
import Foundation
import XGateCore
import XGateFileSystem
import XGateSQLite

/// The exit codes of `xgate`, one per kind of failure, documented in `xgate --help` and README.
enum Exit {
    static let invalid: Int32 = 1
    static let signature: Int32 = 10
    static let key: Int32 = 11
    static let keyValidity: Int32 = 12
    static let envelope: Int32 = 13
    static let malformed: Int32 = 65
    static let notFound: Int32 = 66
    static let tooLarge: Int32 = 67
    static let contracts: Int32 = 69
    static let internalError: Int32 = 70
    static let exists: Int32 = 73
    /// A node's store could not be opened or read (the message says why: another version's schema, permissions…).
    static let store: Int32 = 74
    static let permission: Int32 = 77
    /// The daemon answered with a refusal (a problem document with a 4xx status).
    static let refused: Int32 = 20
    /// The record, conflict or batch asked for does not exist at the daemon.
    static let missing: Int32 = 21
    /// The daemon could not be reached, or failed (5xx): try again later.
    static let unavailable: Int32 = 75
    /// The configuration file is invalid (the message names the key).
    static let configuration: Int32 = 78

    /// The exit code for a daemon that could not start.
    static func code(forStart code: String) -> Int32 {
        if code.hasPrefix("files.") {
            switch code {
            case "files.notFound": return notFound
            case "files.permission": return permission
            case "files.configuration": return contracts
            default: return malformed
            }
        }
        if code.hasPrefix("config.") || code.hasPrefix("tls.") { return configuration }
        if code == "contracts.missing" { return contracts }
        return internalError
    }

    /// The code for a refused batch or receipt.
    static func code(for error: BatchError) -> Int32 {
        switch error.code {
        case "signature.invalid", "jws.format", "jws.header", "jws.algorithm", "jws.type": return signature
        case "key.unknown", "key.sender-mismatch": return key
        case "key.expired", "key.not-yet-valid", "batch.future": return keyValidity
        case "batch.too-large": return tooLarge
        default: return envelope
        }
    }

    static func code(for error: FileError) -> Int32 {
        switch error.kind {
        case .notFound: return notFound
        case .permission: return permission
        case .tooLarge: return tooLarge
        case .malformed: return malformed
        case .exists: return exists
        case .configuration: return contracts
        case .unreadable, .invalid: return malformed
        }
    }
}

/// Writes one line to standard error, control characters escaped.
func report(_ line: String) {
    FileHandle.standardError.write(Data(("xgate: " + printable(line) + "\n").utf8))
}

/// Text safe for a terminal or a log line: control characters (a forged newline, an ANSI escape) become `\u{…}`.
func printable(_ text: String) -> String {
    guard text.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) else { return text }
    var out = ""
    for scalar in text.unicodeScalars {
        if scalar.properties.generalCategory == .control && scalar != "\t" {
            out += "\\u{" + String(scalar.value, radix: 16) + "}"
        } else {
            out.unicodeScalars.append(scalar)
        }
    }
    return out
}

/// Runs a command body, turning every error into one line on standard error and its exit code: never a stack trace.
func guarded(_ body: () throws -> Void) throws {
    do {
        try body()
    } catch {
        throw exitError(for: error)
    }
}

/// ``guarded(_:)`` for a command body that awaits (one that reads a store).
func guarded(_ body: () async throws -> Void) async throws {
    do {
        try await body()
    } catch {
        throw exitError(for: error)
    }
}

/// What a command exits with for `error`, having said it on standard error (an `ExitCode` or a validation error as
/// it is, the rest by kind).
private func exitError(for error: any Error) -> any Error {
    do {
        throw error
    } catch let error as ExitCode {
        return error
    } catch let error as FileError {
        report(error.description)
        return ExitCode(Exit.code(for: error))
    } catch let error as BatchError {
        report(error.description)
        return ExitCode(Exit.code(for: error))
    } catch let error as StoreError {
        report(error.description)
        return ExitCode(Exit.store)
    } catch let error as ContractsUnavailable {
        report(error.description)
        return ExitCode(Exit.contracts)
    } catch let error as ValidationError {
        return error
    } catch {
        report("internal error: \(error)")
        return ExitCode(Exit.internalError)
    }
}

/// The contracts or registry could not be loaded.
struct ContractsUnavailable: Error, CustomStringConvertible {
    var description: String
}

extension LocationOptions {
    /// Loads Contracts/, mapping failures to exit 69 (except a missing directory, 66).
    func loadContracts() throws -> ContractSet {
        let directory = ContractsDirectory.locate(contracts)
        do {
            return try ContractsDirectory.load(directory)
        } catch  where error.kind == .notFound {
            throw error
        } catch {
            throw ContractsUnavailable(description: "contracts unusable: \(error)")
        }
    }
}

/// The wall clock, read only here at the boundary; the library takes times as arguments.
func currentTime() -> Timestamp {
    Timestamp(seconds: Int64(Date().timeIntervalSince1970))
}
