// Wire compatibility with the real PHP components: walkor/GlobalData and walkor/Channel (with Workerman
// 5.2.2 under them), unmodified, from the peers folder beside the repository (`../shared/peers/php`, as CI
// lays it out; never copied here). Our clients against their servers, their clients against ours. Only
// the scripts, pid and log files go to a temporary folder. Skipped, with the reason, when php or the
// peers folder is missing; nothing else depends on them.
//
// `WM_PHP_PEERS` overrides the peers folder (it holds `workerman/`, `GlobalData/` and `Channel/`).

import Testing
import WorkermanEventLoop
import WorkermanProtocols
import WorkermanTransport

@testable import WorkermanComponents

#if canImport(Glibc)
import Glibc
#endif

/// A folder with the test's PHP scripts and an autoloader onto the peers, and the programs started from it.
final class PHPSandbox {
    static let peers: String = {
        if let configured = getenv("WM_PHP_PEERS") { return String(cString: configured) }
        // The package root is three folders above this file; `shared/` is its sibling.
        var root = #filePath
        for _ in 0..<3 { root = String(root[..<(root.lastIndex(of: "/") ?? root.startIndex)]) }
        return root + "/../shared/peers/php"
    }()

    /// The source folder of each PHP namespace the tests load, in the peers folder.
    static let sources = ["Workerman": "workerman/src", "GlobalData": "GlobalData/src", "Channel": "Channel/src"]

    /// Why the PHP tests cannot run here, or nil when they can.
    static let unavailable: String? = {
        guard findExecutable("php") != nil else { return "php is not installed (apt-get install php-cli)" }
        for (name, folder) in sources.sorted(by: { $0.key < $1.key }) where access("\(peers)/\(folder)", R_OK) != 0 {
            return "the PHP \(name) sources are absent at \(peers)/\(folder) (set WM_PHP_PEERS)"
        }
        return nil
    }()

    let directory: String
    private var started: [pid_t] = []

    init() throws {
        directory = try makeTemporaryDirectory("wm-php")
        let map = Self.sources.sorted { $0.key < $1.key }.map { "'\($0.key)\\\\' => '\(Self.peers)/\($0.value)/'" }
        try writeFile(
            "\(directory)/autoload.php",
            """
            <?php
            // PSR-4 onto the unmodified peers. WM_NO_WORKERMAN leaves Workerman out, so the PHP clients run
            // in their plain blocking mode (as under php-fpm).
            spl_autoload_register(function ($class) {
                // Channel's client still names Workerman 4's timer class; Workerman 5 kept the same static
                // API (add, del) under `Workerman\\Timer`.
                if ($class === 'Workerman\\\\Lib\\\\Timer' && !getenv('WM_NO_WORKERMAN')) {
                    class_alias('Workerman\\\\Timer', $class);
                    return;
                }
                // Workerman 5 requires workerman/coroutine, which is not among the peers. With the default
                // event loop a worker only calls `Context::destroy()` after onWorkerStart, which has nothing
                // to destroy without coroutines: an empty class stands in.
                if ($class === 'Workerman\\\\Coroutine\\\\Context') {
                    require __DIR__ . '/coroutine-context.php';
                    return;
                }
                $map = [\(map.joined(separator: ", "))];
                if (getenv('WM_NO_WORKERMAN')) { unset($map['Workerman\\\\']); }
                foreach ($map as $prefix => $folder) {
                    if (strncmp($class, $prefix, strlen($prefix)) === 0) {
                        $file = $folder . str_replace('\\\\', '/', substr($class, strlen($prefix))) . '.php';
                        if (is_file($file)) { require $file; }
                    }
                }
            });
            """
        )
        try writeFile(
            "\(directory)/coroutine-context.php",
            "<?php\nnamespace Workerman\\Coroutine;\nfinal class Context { public static function destroy(): void {} }\n"
        )
    }

    /// Writes `script` and starts `php script arguments`, output to `<name>.out`.
    func start(_ name: String, _ script: String, arguments: [String] = [], environment: [String: String] = [:]) throws -> pid_t {
        try writeFile("\(directory)/\(name).php", "<?php\nrequire __DIR__ . '/autoload.php';\n" + script)
        let pid = try spawn(findExecutable("php")!, ["\(directory)/\(name).php"] + arguments, environment: environment, output: "\(directory)/\(name).out")
        started.append(pid)
        return pid
    }

    func output(_ name: String) -> String { readFile("\(directory)/\(name).out") ?? "" }

    /// A Workerman PHP program (`php x.php start`) with its pid and log files here.
    func startWorkerman(_ name: String, _ body: String, port: Int) throws -> pid_t {
        try start(
            name,
            """
            use Workerman\\Worker;
            Worker::$pidFile = __DIR__ . '/\(name).pid';
            Worker::$logFile = __DIR__ . '/\(name).log';
            $port = \(port);
            \(body)
            Worker::runAll();
            """,
            arguments: ["start"]
        )
    }

    /// Stops every program started (SIGINT, then SIGKILL by pid for anything left) and removes the folder.
    func stop() {
        var everyone = Set(started)
        for pid in started { everyone.formUnion(descendants(of: pid)) }
        for pid in started where isAlive(pid) { kill(pid, SIGINT) }
        for pid in started { reap(pid, seconds: 5) }
        for pid in everyone where isAlive(pid) { kill(pid, SIGKILL) }
        removeDirectory(directory)
    }
}

@Suite("Wire compatibility with the PHP GlobalData and Channel", .enabled(if: PHPSandbox.unavailable == nil, "\(PHPSandbox.unavailable ?? "")"), .serialized)
struct PHPInteropTests {
    @Test("our GlobalData clients against the PHP GlobalData server")
    func ourClientsTheirGlobalData() throws {
        let sandbox = try PHPSandbox()
        defer { sandbox.stop() }
        let port = try freePort()
        _ = try sandbox.startWorkerman("gd-server", "new GlobalData\\Server('127.0.0.1', $port);", port: port)
        try waitUntil("the PHP GlobalData server\n\(sandbox.output("gd-server"))", seconds: 20) { isListening(port) }

        let blocking = try GlobalDataBlockingClient(servers: ["127.0.0.1:\(port)"])
        let nested: PHPValue = ["x": 1.5, "y": [1, 2, "z"], "n": .null, "f": 0.1, "big": 1e25]
        try blocking.set("nested", nested)
        #expect(try blocking.get("nested") == nested)
        #expect(try blocking.add("nested", 1) == false)
        #expect(try blocking.add("counter", 10) == true)
        #expect(try blocking.increment("counter", by: 5) == 15)
        #expect(try blocking.increment("missing") == nil)
        // cas compares MD5s of PHP's serialize(): equal only if we serialize floats byte for byte as PHP.
        #expect(try blocking.cas("nested", expected: nested, new: 0.1) == true)
        #expect(try blocking.cas("nested", expected: 0.1, new: "swapped") == true)
        #expect(try blocking.cas("nested", expected: 0.1, new: "again") == false)
        #expect(try blocking.exists("nested"))
        try blocking.remove("nested")
        #expect(try blocking.exists("nested") == false)

        let testLoop = try TestLoop()
        let client = try GlobalDataClient(loop: testLoop.loop, servers: ["127.0.0.1:\(port)"])
        var results: [String] = []
        client.set("async", ["list": [true, false]]) { _ in }
        client.get("async") { results.append("\(try $0.get())") }
        client.increment("counter", by: 2) { results.append("\(String(describing: try $0.get()))") }
        client.cas("counter", expected: 17, new: 0) { results.append("\(try $0.get())") }
        try testLoop.run(until: "three answers") { results.count == 3 }
        #expect(results == [#"["list" => [0 => true, 1 => false]]"#, "Optional(17)", "true"])
    }

    @Test("the PHP GlobalData client against our GlobalData server")
    func theirClientOurGlobalData() throws {
        let sandbox = try PHPSandbox()
        defer { sandbox.stop() }
        let testLoop = try TestLoop()
        let server = try GlobalDataServer("127.0.0.1:0")
        let tcp = try server.serve(on: testLoop.loop, address: "frame://127.0.0.1:0")
        defer { tcp.closeAll() }
        let php = try sandbox.start(
            "gd-client",
            """
            $g = new GlobalData\\Client('127.0.0.1:\(tcp.listener!.address.port)');
            $out = [];
            $g->a = 1; $out[] = $g->a;
            $out[] = $g->add('a', 2);
            $out[] = $g->add('b', ['x' => 1.5, 'y' => [1, 2, 'z']]);
            $out[] = $g->b;
            $out[] = $g->increment('a', 5);
            $out[] = $g->increment('missing');
            $out[] = $g->cas('b', ['x' => 1.5, 'y' => [1, 2, 'z']], 0.1);
            $out[] = $g->cas('b', 0.2, 1);
            $out[] = isset($g->b);
            unset($g->b);
            $out[] = isset($g->b);
            $g->fromPHP = ['pi' => 3.14159, 'list' => ['a', 'b']];
            echo serialize($out);
            """,
            environment: ["WM_NO_WORKERMAN": "1"]
        )
        var exitCode: CInt?
        try testLoop.run(until: "the PHP client to finish\n\(sandbox.output("gd-client"))", seconds: 30) {
            var status: CInt = 0
            if waitpid(php, &status, WNOHANG) == php { exitCode = (status >> 8) & 0xff }
            return exitCode != nil
        }
        #expect(exitCode == 0)
        let printed = try PHPValue(unserializing: sandbox.output("gd-client"))
        #expect(printed == [1, false, true, ["x": 1.5, "y": [1, 2, "z"]], 6, .bool(false), true, false, true, false])
        #expect(server.store.values["fromPHP"] == ["pi": 3.14159, "list": ["a", "b"]])
    }

    @Test("our Channel clients against the PHP Channel server: events and queues")
    func ourClientsTheirChannel() throws {
        let sandbox = try PHPSandbox()
        defer { sandbox.stop() }
        let port = try freePort()
        _ = try sandbox.startWorkerman("ch-server", "new Channel\\Server('127.0.0.1', $port);", port: port)
        try waitUntil("the PHP Channel server\n\(sandbox.output("ch-server"))", seconds: 20) { isListening(port) }
        let testLoop = try TestLoop()
        var configuration = ChannelClient.Configuration(backend: .server("127.0.0.1:\(port)"))
        configuration.reconnectInterval = 0.2
        let subscriber = ChannelClient(loop: testLoop.loop, configuration: configuration)
        let publisher = ChannelClient(loop: testLoop.loop, configuration: configuration)
        defer { [subscriber, publisher].forEach { $0.close() } }
        var got: [PHPValue] = []
        subscriber.on("news") { got.append($0) }
        publisher.connect()
        try testLoop.run(until: "delivery through the PHP server") {
            if got.isEmpty && publisher.isConnected { publisher.publish("news", "probe") }
            return !got.isEmpty
        }
        // Probes still in flight arrive before the first "sync" (one publisher, delivered in order). The
        // syncs are counted apart from `got`: several may be in flight, and a late one must not land in
        // the events checked below.
        var synced = false
        subscriber.on("sync") { _ in synced = true }
        try testLoop.run(until: "sync") {
            if !synced { publisher.publish("sync", true) }
            return synced
        }
        got.removeAll()
        let value: PHPValue = ["to_connection_id": 3, "content": "héllo", "nested": [0.1, .null, true]]
        for _ in 0..<10 { publisher.publish("news", value) }
        try testLoop.run(until: "ten events") { got.count >= 10 }
        #expect(got == Array(repeating: value, count: 10))

        var jobs: [PHPValue] = []
        subscriber.watch("jobs") { jobs.append($0) }
        for job in 0..<20 { publisher.enqueue("jobs", .int(job)) }
        try testLoop.run(until: "twenty jobs") { jobs.count == 20 }
        #expect(jobs == (0..<20).map { PHPValue.int($0) })
    }

    @Test("the PHP Channel client (in a Workerman worker) against our Channel server")
    func theirClientOurChannel() throws {
        let sandbox = try PHPSandbox()
        defer { sandbox.stop() }
        let testLoop = try TestLoop()
        let server = try ChannelServer("127.0.0.1:0")
        let tcp = try server.serve(on: testLoop.loop, address: "frame://127.0.0.1:0")
        defer { tcp.closeAll() }
        let port = tcp.listener!.address.port
        _ = try sandbox.startWorkerman(
            "ch-client",
            """
            $worker = new Worker();
            $worker->onWorkerStart = function () use ($port) {
                Channel\\Client::connect('127.0.0.1', $port);
                Channel\\Client::on('to_php', function ($data) {
                    Channel\\Client::publish('from_php', ['echo' => $data, 'pid' => getmypid()]);
                });
                Channel\\Client::watch('php_jobs', function ($job) {
                    Channel\\Client::publish('php_job_done', $job);
                });
            };
            """,
            port: port
        )
        let client = ChannelClient(loop: testLoop.loop, server: "127.0.0.1:\(port)")
        client.log = { _ in }
        defer { client.close() }
        var echoes: [PHPValue] = []
        var done: [PHPValue] = []
        client.on("from_php") { echoes.append($0["echo"] ?? .null) }
        client.on("php_job_done") { done.append($0) }
        var lastProbe = 0.0
        try testLoop.run(until: "the PHP worker to answer\n\(sandbox.output("ch-client"))", seconds: 30) {
            if echoes.isEmpty, client.isConnected, monotonicSeconds() - lastProbe > 0.1 {
                lastProbe = monotonicSeconds()
                client.publish("to_php", "probe")
            }
            return !echoes.isEmpty
        }
        try testLoop.run(for: 0.3)
        echoes.removeAll()
        let value: PHPValue = ["f": 0.1, "big": 1e25, "list": ["a", .null, false], "bytes": PHPValue(bytes: [0, 255, 10])]
        client.publish("to_php", value)
        try testLoop.run(until: "the echo") { !echoes.isEmpty }
        #expect(echoes == [value])
        for job in 0..<5 { client.enqueue("php_jobs", PHPValue("job\(job)")) }
        try testLoop.run(until: "five jobs done by PHP") { done.count == 5 }
        #expect(done == (0..<5).map { PHPValue("job\($0)") })
    }
}
