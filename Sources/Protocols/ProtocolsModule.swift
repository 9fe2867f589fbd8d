// WorkermanProtocols: sans-I/O codecs (text, frame, HTTP/1.1, WebSocket) driven by WorkermanTransport connections.
