import WorkermanEventLoop

#if canImport(Glibc)
import Glibc
#endif

/// Resolves host names without blocking the loop: `getaddrinfo` runs on a short-lived helper thread and
/// the answer hops back to the loop through its handle. Numeric hosts never get here.
enum Resolver {
    /// Carries a loop-thread-only completion through the helper thread untouched.
    ///
    /// Safety of `@unchecked Sendable`: every field is a `let`. The helper thread reads `host`, `port` and
    /// `handle`, written before `pthread_create`, which orders them for it; `completion` is only called
    /// inside a job the loop's handle runs, on the loop thread, and the handle's lock (a `ThreadLock`, which
    /// ThreadSanitizer sees) orders the answer the helper wrote before that job. No other state is shared.
    private final class Request: @unchecked Sendable {  // safe: immutable; completion runs on the loop thread only
        let host: String
        let port: Int
        let handle: EventLoopHandle
        let completion: (Result<SocketAddress, TransportError>) -> Void

        init(host: String, port: Int, handle: EventLoopHandle, completion: @escaping (Result<SocketAddress, TransportError>) -> Void) {
            self.host = host
            self.port = port
            self.handle = handle
            self.completion = completion
        }
    }

    /// Resolves `host` and calls `completion` on the loop thread with the first address: through the
    /// loop's `DNSResolver`, or `getaddrinfo` when its mode is `.system` (or it has no server to ask).
    static func resolve(
        host: String,
        port: Int,
        on loop: EventLoop,
        completion: @escaping (Result<SocketAddress, TransportError>) -> Void
    ) {
        let resolver = DNSResolver.of(loop)
        guard resolver.mode == .builtIn else { return resolveOnThread(host: host, port: port, on: loop, completion: completion) }
        resolver.resolve(host) { result in
            switch result {
            case .success(let addresses):
                guard let first = addresses.first, let address = try? SocketAddress(ip: first, port: port) else {
                    return completion(.failure(TransportError(.unresolvable, "resolve \(host)", detail: "no address")))
                }
                completion(.success(address))
            case .failure(let error) where error.code == .unavailable:
                resolveOnThread(host: host, port: port, on: loop, completion: completion)
            case .failure(let error):
                completion(.failure(TransportError(.unresolvable, "resolve \(host)", detail: error.description)))
            }
        }
    }

    /// `getaddrinfo` on a helper thread.
    static func resolveOnThread(
        host: String,
        port: Int,
        on loop: EventLoop,
        completion: @escaping (Result<SocketAddress, TransportError>) -> Void
    ) {
        let request = Request(host: host, port: port, handle: loop.handle, completion: completion)
        var thread = pthread_t()
        let context = Unmanaged.passRetained(request).toOpaque()
        let started = pthread_create(&thread, nil, { raw in
            let request = Unmanaged<Request>.fromOpaque(raw!).takeRetainedValue()
            let result = Resolver.lookUp(request.host, request.port)
            request.handle.execute { _ in request.completion(result) }
            return nil
        }, context)
        if started == 0 {
            pthread_detach(thread)
        } else {
            Unmanaged<Request>.fromOpaque(context).release()
            loop.nextTick {
                completion(.failure(TransportError(.unresolvable, "resolve \(host)", cause: Errno(rawValue: started), detail: "cannot start the resolver thread")))
            }
        }
    }

    /// Blocking `getaddrinfo(3)`; runs on the helper thread only.
    private static func lookUp(_ host: String, _ port: Int) -> Result<SocketAddress, TransportError> {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = CInt(SOCK_STREAM.rawValue)
        var list: UnsafeMutablePointer<addrinfo>?
        let status = getaddrinfo(host, String(port), &hints, &list)
        guard status == 0, let first = list else {
            let reason = status == 0 ? "no address" : String(cString: gai_strerror(status))
            return .failure(TransportError(.unresolvable, "resolve \(host)", detail: reason))
        }
        defer { freeaddrinfo(list) }
        var entry: UnsafeMutablePointer<addrinfo>? = first
        while let current = entry {
            if let raw = current.pointee.ai_addr {
                var storage = sockaddr_storage()
                withUnsafeMutableBytes(of: &storage) { target in
                    target.copyMemory(from: UnsafeRawBufferPointer(start: raw, count: Int(current.pointee.ai_addrlen)))
                }
                if let address = SocketAddress(storage: storage, length: current.pointee.ai_addrlen) {
                    return .success(address)
                }
            }
            entry = current.pointee.ai_next
        }
        return .failure(TransportError(.unresolvable, "resolve \(host)", detail: "no IPv4 or IPv6 address"))
    }
}
