import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import XGateCore
import XGateJSON

/// Operator sessions of the web console: a login with the operator token opens a session (a random id in an
/// HttpOnly, Secure, SameSite=Strict cookie, eight hours); every form carries the session's CSRF token.
final class ConsoleSessions: @unchecked Sendable {
    struct Session {
        var expires: Date
        var csrf: String
    }
    private let lock = NSLock()
    private var sessions: [String: Session] = [:]
    static let lifetime: TimeInterval = 8 * 3600
    static let cookie = "xgate_console"

    static func random() -> String {
        var generator = SystemRandomNumberGenerator()
        return (0..<32).map { _ in String(format: "%02x", UInt8.random(in: 0...255, using: &generator)) }.joined()
    }

    func open() -> (id: String, csrf: String) {
        let id = Self.random()
        let csrf = Self.random()
        lock.withLock {
            let now = Date()
            sessions = sessions.filter { $0.value.expires > now }
            sessions[id] = Session(expires: now.addingTimeInterval(Self.lifetime), csrf: csrf)
        }
        return (id, csrf)
    }

    func session(_ id: String) -> Session? {
        lock.withLock {
            guard let session = sessions[id], session.expires > Date() else { return nil }
            return session
        }
    }

    func close(_ id: String) { _ = lock.withLock { sessions.removeValue(forKey: id) } }
}

/// Text safe inside HTML.
func html(_ text: String) -> String {
    var out = ""
    out.reserveCapacity(text.count)
    for character in text {
        switch character {
        case "&": out += "&amp;"
        case "<": out += "&lt;"
        case ">": out += "&gt;"
        case "\"": out += "&quot;"
        case "'": out += "&#39;"
        default: out.append(character)
        }
    }
    return out
}

/// A JSON value as page text.
func cell(_ value: JSONValue?) -> String {
    switch value {
    case .none, .null?: return "–"
    case .string(let s)?: return html(s)
    case .number(let n)?: return n == n.rounded() && abs(n) < 1e15 ? String(Int64(n)) : String(format: "%.4g", n)
    case .bool(let b)?: return b ? "yes" : "no"
    case let other?: return html(String(decoding: other.serialized(), as: UTF8.self))
    }
}

/// A form body (`application/x-www-form-urlencoded`) as a dictionary.
func formFields(_ bytes: [UInt8]) -> [String: String] {
    let text = String(decoding: bytes, as: UTF8.self).replacingOccurrences(of: "+", with: "%20")
    var fields: [String: String] = [:]
    for item in URLComponents(string: "?" + text)?.queryItems ?? [] { fields[item.name] = item.value ?? "" }
    return fields
}

/// The page around every console view: navigation, the node, the alerts banner. No script, no external asset.
func consolePage(title: String, node: String, alerts: [Alert], body: String) -> Response {
    let nav = [
        ("/console", "Peers"), ("/console/log", "Sync log"), ("/console/rejections", "Rejections"), ("/console/conflicts", "Conflicts"),
        ("/console/corrections", "Corrections"), ("/console/reports/timeliness", "Timeliness"), ("/console/charts", "Charts"),
    ].map { "<a href=\"\($0.0)\">\($0.1)</a>" }.joined(separator: " ")
    let banner =
        alerts.isEmpty
        ? ""
        : "<div class=\"alerts\"><strong>\(alerts.count) alert\(alerts.count == 1 ? "" : "s")</strong><ul>"
            + alerts.prefix(20).map { "<li><code>\(html($0.kind))</code> \(html($0.subject)): \(html($0.detail))</li>" }.joined()
            + "</ul></div>"
    let page = """
        <!doctype html>
        <html lang="zh-CN"><head><meta charset="utf-8"><title>\(html(title)) · xgate \(html(node))</title>
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <style>
        body{font:14px/1.45 system-ui,"Noto Sans CJK SC","WenQuanYi Zen Hei",sans-serif;margin:0;color:#1d2330;background:#f6f7f9}
        header{background:#12325b;color:#fff;padding:10px 20px}header a{color:#fff;margin-right:14px;text-decoration:none}
        header .node{float:right;opacity:.85}main{padding:16px 20px}h1{font-size:20px;margin:4px 0 12px}
        table{border-collapse:collapse;background:#fff;width:100%;margin-bottom:16px}
        th,td{border:1px solid #d9dde5;padding:4px 8px;text-align:left;vertical-align:top}th{background:#eef1f6}
        .alerts{background:#fff4e5;border:1px solid #f0b46b;padding:8px 12px;margin-bottom:12px}
        .bad{color:#b00020;font-weight:600}.ok{color:#1b7a32}code{font-size:12px}
        form.inline{display:inline}input,select,button{font:inherit;padding:3px 6px}
        .side{display:flex;gap:12px}.side>div{flex:1;background:#fff;border:1px solid #d9dde5;padding:8px;overflow:auto}
        pre{white-space:pre-wrap;word-break:break-all;font-size:12px}
        </style></head><body>
        <header><span class="node">\(html(node))</span>\(nav)</header>
        <main><h1>\(html(title))</h1>\(banner)\(body)</main></body></html>
        """
    return Response(
        status: .ok,
        headers: [
            .contentType: "text/html; charset=utf-8", .cacheControl: "no-store",
            HTTPField.Name("Content-Security-Policy")!:
                "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; form-action 'self'",
            HTTPField.Name("X-Frame-Options")!: "DENY",
        ],
        body: .init(byteBuffer: ByteBuffer(string: page)))
}

/// A table from rows of already-escaped cells.
func htmlTable(_ header: [String], _ rows: [[String]]) -> String {
    "<table><tr>" + header.map { "<th>\(html($0))</th>" }.joined() + "</tr>"
        + rows.map { "<tr>" + $0.map { "<td>\($0)</td>" }.joined() + "</tr>" }.joined() + "</table>"
}

/// A 303 redirect.
func redirect(_ location: String, cookie: String? = nil) -> Response {
    var headers: HTTPFields = [.location: location]
    if let cookie { headers[.setCookie] = cookie }
    return Response(status: .seeOther, headers: headers)
}

/// Requires a console session; without one, the browser goes to the login page.
struct ConsoleAuthenticationMiddleware: RouterMiddleware {
    let sessions: ConsoleSessions

    func handle(_ request: Request, context: GatewayContext, next: @concurrent (Request, GatewayContext) async throws -> Response) async throws
        -> Response
    {
        guard let id = ConsoleAuthenticationMiddleware.sessionID(request), let session = sessions.session(id) else {
            return redirect("/console/login")
        }
        var context = context
        context.isOperator = true
        context.csrf = session.csrf
        return try await next(request, context)
    }

    static func sessionID(_ request: Request) -> String? {
        guard let header = request.headers[.cookie] else { return nil }
        for part in header.split(separator: ";") {
            let pair = part.trimmingCharacters(in: .whitespaces).split(separator: "=", maxSplits: 1)
            if pair.count == 2, pair[0] == ConsoleSessions.cookie { return String(pair[1]) }
        }
        return nil
    }
}
