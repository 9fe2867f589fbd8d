import WorkermanEventLoop

extension DNSResolver {
    /// Reads a server's answer to `name`/`type`: NXDOMAIN, the addresses at the end of the CNAME chain
    /// inside the answer, or a chain that leaves the answer (asked for its end, at most 8 hops). Every
    /// outcome is cached: addresses for the smallest TTL along the chain, a negative answer for the
    /// SOA's minimum (or `negativeTTL`).
    func answered(_ name: String, _ type: DNSRecordType, depth: Int, _ message: DNSMessage, _ completion: @escaping Completion) {
        let now = loop.clock.nanoseconds()
        let key = DNSCache.Key(name: name, type: type.rawValue)
        let negativeExpiry = now &+ UInt64((message.negativeTTL.map(Double.init) ?? negativeTTL) * 1e9)
        if message.responseCode == 3 {
            let error = DNSError(.nameError, "\(name): no such name")
            cache.store(key, DNSCache.Entry(addresses: [], expiry: negativeExpiry, negative: error), now: now)
            return completion(.failure(error))
        }
        // Walk the chain inside the answer: name → CNAME → … → records of the asked type.
        var current = name
        var ttl = UInt32.max
        for _ in 0..<16 {
            var addresses: [String] = []
            var smallest = ttl
            for record in message.answers where record.type == type && record.name == current {
                if case .address(let text) = record.payload { addresses.append(text) }
                smallest = min(smallest, record.ttl)
            }
            if !addresses.isEmpty {
                cache.store(key, DNSCache.Entry(addresses: addresses, expiry: now &+ UInt64(smallest) * 1_000_000_000, negative: nil), now: now)
                return completion(.success(addresses))
            }
            guard let alias = message.answers.first(where: { $0.name == current && $0.type == .cname }),
                case .canonicalName(let target) = alias.payload
            else { break }
            ttl = min(ttl, alias.ttl)
            current = target
        }
        if current != name, depth < 8 {
            // The chain leaves the answer (the server did not follow it): ask for its end.
            return lookup(current, type: type, depth: depth + 1, completion)
        }
        let error = DNSError(.noAddress, "\(name): no \(type) record")
        cache.store(key, DNSCache.Entry(addresses: [], expiry: negativeExpiry, negative: error), now: now)
        completion(.failure(error))
    }
}
