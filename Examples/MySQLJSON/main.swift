// An HTTP worker serving JSON from MariaDB or MySQL: each process keeps a pool of non-blocking
// connections on its own loop, so many requests wait on the database at once without blocking anyone.
//
//   MYSQL_URL=mysql://wm:secret@127.0.0.1:3306/wmtest mysql-json start
//
//   curl http://127.0.0.1:8081/items                       → [{"id":1,"name":"pen","price":"1.25"}, …]
//   curl http://127.0.0.1:8081/items/1                     → {"id":1,"name":"pen","price":"1.25"}
//   curl -d 'name=ink&price=3.50' http://127.0.0.1:8081/items   → {"id":2}
//
// Settings from the environment: MYSQL_URL, PORT (8081), COUNT (processes, 2), POOL (connections per
// process, 8).
import Workerman
import WorkermanMySQL

#if canImport(Glibc)
import Glibc
#endif

func setting(_ name: String, _ fallback: String) -> String {
    getenv(name).map { String(cString: $0) } ?? fallback
}

let configuration = try MySQLConfiguration(url: setting("MYSQL_URL", "mysql://wm:secret@127.0.0.1:3306/wmtest"))
let web = try Worker(http: "0.0.0.0:\(setting("PORT", "8081"))")
web.name = "mysql-json"
web.count = Int(setting("COUNT", "2")) ?? 2

/// The row type the API serves (DECIMAL stays text, so no cent is lost to a Double).
struct Item: Decodable {
    let id: Int
    let name: String
    let price: String

    var json: String { #"{"id":\#(id),"name":\#(jsonString(name)),"price":\#(jsonString(price))}"# }
}

func jsonString(_ text: String) -> String {
    var out = "\""
    for scalar in text.unicodeScalars {
        switch scalar {
        case "\"": out += "\\\""
        case "\\": out += "\\\\"
        case "\n": out += "\\n"
        case _ where scalar.value < 0x20: out += "\\u" + String(repeating: "0", count: 4 - String(scalar.value, radix: 16).count) + String(scalar.value, radix: 16)
        default: out.unicodeScalars.append(scalar)
        }
    }
    return out + "\""
}

/// This process's pool, made in `onWorkerStart` (it lives on the process's loop).
final class Database {
    var pool: MySQLPool?
}
let database = Database()

web.onWorkerStart = { worker in
    let pool = MySQLPool(loop: worker.loop!, configuration: configuration, options: .init(maxConnections: Int(setting("POOL", "8")) ?? 8))
    pool.query("CREATE TABLE IF NOT EXISTS items (id INT AUTO_INCREMENT PRIMARY KEY, name VARCHAR(100) NOT NULL, price DECIMAL(10,2) NOT NULL)") { result in
        if case .failure(let error) = result { print("mysql-json: \(error)") }
    }
    database.pool = pool
}

func reply(_ connection: TCPConnection<HTTPServerCodec>, _ body: String, status: HTTPStatus = .ok) {
    connection.send(.response(HTTPResponse(status: status, headers: ["Content-Type": "application/json"], body: body)))
}

/// Every failure answers 500 with the error (code, SQL state, server): fine for an example.
func failed(_ connection: TCPConnection<HTTPServerCodec>, _ error: MySQLError) {
    reply(connection, #"{"error":\#(jsonString(error.description))}"#, status: .internalServerError)
}

web.onMessage = { connection, request in
    guard let pool = database.pool else { return reply(connection, #"{"error":"starting"}"#, status: .serviceUnavailable) }
    let parts = request.path.split(separator: "/")
    switch (request.method, parts.count) {
    case (.get, 1) where parts[0] == "items":
        pool.query("SELECT id, name, price FROM items ORDER BY id LIMIT 100") { result in
            do throws(MySQLError) {
                let items = try result.get().decode(Item.self)
                reply(connection, "[" + items.map(\.json).joined(separator: ",") + "]")
            } catch {
                failed(connection, error)
            }
        }
    case (.get, 2) where parts[0] == "items":
        guard let id = Int64(parts[1]) else { return reply(connection, #"{"error":"bad id"}"#, status: .badRequest) }
        // Bound, never interpolated: the id travels as a parameter of a prepared statement.
        pool.query("SELECT id, name, price FROM items WHERE id = ?", [.int(id)]) { result in
            do throws(MySQLError) {
                guard let item = try result.get().decode(Item.self).first else {
                    return reply(connection, #"{"error":"no such item"}"#, status: .notFound)
                }
                reply(connection, item.json)
            } catch {
                failed(connection, error)
            }
        }
    case (.post, 1) where parts[0] == "items":
        let form = request.form
        guard let name = form["name"], let price = form["price"] else {
            return reply(connection, #"{"error":"name and price are required"}"#, status: .badRequest)
        }
        pool.query("INSERT INTO items (name, price) VALUES (?, ?)", [.string(name), .decimal(price)]) { result in
            switch result {
            case .success(let result): reply(connection, #"{"id":\#(result.lastInsertID)}"#)
            case .failure(let error): failed(connection, error)
            }
        }
    default:
        reply(connection, #"{"error":"not found"}"#, status: .notFound)
    }
}

Worker.runAll()
