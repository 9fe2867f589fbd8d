// Codecs: text, frame, HTTP/1.1, WebSocket. All sans-I/O.
