// https + wss on one port: pages over HTTPS, and `/ws` upgraded to a WebSocket over the same TLS
// connection (wss://). Two ways to say "TLS" are shown: the Swift form (a typed configuration, checked
// when the program starts) and Workerman's (`transport = "ssl"` with a context).
//
//   swift run https-wss start            then open https://localhost:8443/ (see the README for a local CA)
//
// Environment: TLS_CERT, TLS_KEY (PEM files; default cert.pem and key.pem in the working directory),
// TLS_KEY_PASSPHRASE, PORT (8443), WORKERMAN_FORM=1 for Workerman's form.
import Workerman
import WorkermanTLS

#if canImport(Glibc)
import Glibc
#endif

func setting(_ name: String, _ fallback: String) -> String {
    getenv(name).map { String(cString: $0) } ?? fallback
}

let certificate = setting("TLS_CERT", "cert.pem")
let key = setting("TLS_KEY", "key.pem")
let address = "0.0.0.0:\(setting("PORT", "8443"))"

let web: Worker<HTTPServerCodec>
if setting("WORKERMAN_FORM", "0") == "1" {
    // Workerman's form: the certificate is read by each process as it starts (a reload serves a renewed one).
    web = try Worker(http: address)
    web.context = ["ssl": ["local_cert": certificate, "local_pk": key]]
    web.transport = "ssl"
} else {
    // The Swift form: a missing file or a key that does not match fails here, before anything listens.
    let passphrase = getenv("TLS_KEY_PASSPHRASE").map { String(cString: $0) }
    let tls = try TLSServerConfiguration(certificateChain: certificate, privateKey: key, passphrase: passphrase)
    web = try Worker(http: address, tls: tls)
}
web.name = "https-wss"
web.count = 2

let page = """
    <!doctype html><meta charset="utf-8"><title>https + wss</title>
    <p id="log">connecting…</p>
    <script>
    const ws = new WebSocket(`wss://${location.host}/ws`);
    ws.onopen = () => ws.send("hello over wss");
    ws.onmessage = (event) => { document.getElementById("log").textContent = event.data; };
    </script>
    """

web.onMessage = { connection, request in
    if request.path == "/ws", request.isWebSocketUpgrade {
        // The WebSocket keeps the TLS connection: frames are encrypted like the page was.
        guard let ws = connection.upgradeToWebSocket(request) else { return }
        ws.onMessage = { ws, message in ws.send(.text("echo over \(ws.securityDescription ?? "plain"): \(message.text)")) }
        return
    }
    connection.send(.response(HTTPResponse(headers: ["Content-Type": "text/html; charset=utf-8"], body: page)))
}

Worker.runAll()
