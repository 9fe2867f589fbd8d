// The names of the first releases, before type names followed the Swift API guidelines for acronyms
// (`TCPConnection` beside `HTTPRequest`), and before `Async` was kept for async/await: code written
// against them still compiles, with a warning that names the new one.

@available(*, deprecated, renamed: "TCPConnection")
public typealias TcpConnection<C: Codec> = TCPConnection<C>

@available(*, deprecated, renamed: "TCPServer")
public typealias TcpServer<C: Codec> = TCPServer<C>

@available(*, deprecated, renamed: "TCPClient", message: "a callback-based client; `Async` names are for async/await")
public typealias AsyncTcpConnection<C: Codec> = TCPClient<C>

@available(*, deprecated, renamed: "UDPServer")
public typealias UdpServer<C: Codec> = UDPServer<C>

@available(*, deprecated, renamed: "UDPConnection")
public typealias UdpConnection<C: Codec> = UDPConnection<C>

@available(*, deprecated, renamed: "UDPClient", message: "a callback-based client; `Async` names are for async/await")
public typealias AsyncUdpConnection<C: Codec> = UDPClient<C>
