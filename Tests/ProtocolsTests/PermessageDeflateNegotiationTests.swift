// permessage-deflate negotiation without sockets (RFC 7692 §5, §7.1): the header syntax, a server
// choosing among offers (accepting, declining malformed or duplicated parameters, window sizes), and a
// client checking the server's answer.

import Testing

@testable import WorkermanProtocols

@Suite("permessage-deflate negotiation")
struct PermessageDeflateNegotiationTests {
    typealias Negotiation = PermessageDeflateNegotiation

    private func accept(_ offers: String..., options: PermessageDeflateOptions = PermessageDeflateOptions()) -> String? {
        Negotiation.accept(offers: offers, options: options)?.response
    }

    @Test("the header splits into extensions and parameters, quoted values unquoted")
    func headerSyntax() throws {
        let parsed = Negotiation.extensions(#"permessage-deflate; client_max_window_bits="10" , x-foo;a=1;b, "#)
        #expect(parsed.count == 2)
        let first = try #require(parsed[0])
        #expect(first.name == "permessage-deflate")
        #expect(first.parameters.map(\.name) == ["client_max_window_bits"])
        #expect(first.parameters.map(\.value) == ["10"])
        let second = try #require(parsed[1])
        #expect(second.name == "x-foo")
        #expect(second.parameters.map(\.value) == ["1", nil])
        // Broken syntax makes that one extension nil, not the whole header.
        #expect(Negotiation.extensions("permessage-deflate; =3, ok").map { $0?.name } == [nil, "ok"])
        #expect(Negotiation.extensions(#"a; b="unterminated"#).map { $0?.name } == [nil])
        #expect(Negotiation.extensions("").isEmpty)
    }

    @Test("a plain offer is accepted as it is; a browser's offer gets no window answer")
    func plainOffers() {
        #expect(accept("permessage-deflate") == "permessage-deflate")
        #expect(accept("permessage-deflate; client_max_window_bits") == "permessage-deflate")
        #expect(accept("PerMessage-Deflate") == "permessage-deflate")
    }

    @Test("requested parameters are answered")
    func parametersAnswered() {
        #expect(
            accept("permessage-deflate; server_no_context_takeover; client_no_context_takeover")
                == "permessage-deflate; server_no_context_takeover; client_no_context_takeover")
        #expect(accept("permessage-deflate; server_max_window_bits=10") == "permessage-deflate; server_max_window_bits=10")
        #expect(accept(#"permessage-deflate; server_max_window_bits="12""#) == "permessage-deflate; server_max_window_bits=12")
        // 8 is agreed: the server then sends uncompressed (zlib cannot make a 256-byte window).
        #expect(accept("permessage-deflate; server_max_window_bits=8") == "permessage-deflate; server_max_window_bits=8")
        // A client value is a promise; answered only when the server wants less.
        #expect(accept("permessage-deflate; client_max_window_bits=9") == "permessage-deflate")
    }

    @Test("the server's own options: smaller windows and no context takeover")
    func serverOptions() {
        let options = PermessageDeflateOptions(serverNoContextTakeover: true, serverMaxWindowBits: 11, clientMaxWindowBits: 10)
        #expect(
            accept("permessage-deflate; client_max_window_bits", options: options)
                == "permessage-deflate; server_no_context_takeover; server_max_window_bits=11; client_max_window_bits=10")
        #expect(
            accept("permessage-deflate; server_max_window_bits=13; client_max_window_bits=9", options: options)
                == "permessage-deflate; server_no_context_takeover; server_max_window_bits=11")
        // Without the client's client_max_window_bits, the server may not state one.
        #expect(
            accept("permessage-deflate", options: options)
                == "permessage-deflate; server_no_context_takeover; server_max_window_bits=11")
        let agreement = Negotiation.accept(offers: ["permessage-deflate; client_max_window_bits"], options: options)?.agreement
        #expect(
            agreement
                == PermessageDeflateAgreement(
                    serverNoContextTakeover: true, clientNoContextTakeover: false, serverMaxWindowBits: 11, clientMaxWindowBits: 10))
    }

    @Test(
        "malformed, duplicated or unknown parameters decline the offer",
        arguments: [
            "permessage-deflate; server_max_window_bits",  // needs a value
            "permessage-deflate; server_max_window_bits=7",
            "permessage-deflate; server_max_window_bits=16",
            "permessage-deflate; server_max_window_bits=010",
            "permessage-deflate; server_max_window_bits=+9",
            "permessage-deflate; server_max_window_bits=abc",
            "permessage-deflate; client_max_window_bits=0",
            "permessage-deflate; client_max_window_bits=99999999999999999999999",
            "permessage-deflate; server_no_context_takeover=1",
            "permessage-deflate; client_no_context_takeover; client_no_context_takeover",
            "permessage-deflate; server_max_window_bits=10; server_max_window_bits=10",
            "permessage-deflate; client_max_window_bits; client_max_window_bits=10",
            "permessage-deflate; mystery",
            "permessage-deflate; ; server_no_context_takeover",
            #"permessage-deflate; server_max_window_bits="1 0""#,
            "x-webkit-deflate-frame",
        ]
    )
    func declined(offer: String) {
        #expect(accept(offer) == nil)
    }

    @Test("the first acceptable offer wins, across offers and header lines")
    func firstAcceptable() {
        #expect(
            accept("permessage-deflate; mystery, permessage-deflate; server_max_window_bits=10, permessage-deflate")
                == "permessage-deflate; server_max_window_bits=10")
        #expect(accept("x-other; a=1", "permessage-deflate; client_no_context_takeover") == "permessage-deflate; client_no_context_takeover")
        #expect(accept("x-other, permessage-deflate; bad=") == nil)
    }

    @Test("a client's offer states its options")
    func clientOffer() {
        #expect(Negotiation.offer(PermessageDeflateOptions()) == "permessage-deflate; client_max_window_bits")
        #expect(
            Negotiation.offer(PermessageDeflateOptions(serverNoContextTakeover: true, serverMaxWindowBits: 10, clientMaxWindowBits: 12))
                == "permessage-deflate; server_no_context_takeover; server_max_window_bits=10; client_max_window_bits=12")
    }

    @Test("a client accepts valid answers and takes their parameters")
    func clientAcceptsAnswers() throws {
        let options = PermessageDeflateOptions()
        #expect(try Negotiation.checkResponse([], options: options).get() == nil)
        #expect(try Negotiation.checkResponse(["permessage-deflate"], options: options).get() == PermessageDeflateAgreement())
        let agreement = try Negotiation.checkResponse(
            ["permessage-deflate; server_no_context_takeover; client_max_window_bits=9; server_max_window_bits=10"],
            options: options
        ).get()
        #expect(
            agreement
                == PermessageDeflateAgreement(
                    serverNoContextTakeover: true, clientNoContextTakeover: false, serverMaxWindowBits: 10, clientMaxWindowBits: 9))
    }

    @Test(
        "a client fails the connection on answers it did not ask for",
        arguments: [
            (["x-other"], PermessageDeflateOptions()),
            (["permessage-deflate, permessage-deflate"], PermessageDeflateOptions()),
            (["permessage-deflate", "permessage-deflate"], PermessageDeflateOptions()),
            (["permessage-deflate; mystery"], PermessageDeflateOptions()),
            (["permessage-deflate; client_max_window_bits"], PermessageDeflateOptions()),
            (["permessage-deflate; server_max_window_bits=16"], PermessageDeflateOptions()),
            (["permessage-deflate; server_no_context_takeover; server_no_context_takeover"], PermessageDeflateOptions()),
            (["permessage-deflate; server_max_window_bits=12"], PermessageDeflateOptions(serverMaxWindowBits: 10)),
            (["permessage-deflate"], PermessageDeflateOptions(serverMaxWindowBits: 10)),
            (["permessage-deflate"], PermessageDeflateOptions(serverNoContextTakeover: true)),
            (["permessage-deflate; bad="], PermessageDeflateOptions()),
        ]
    )
    func clientRefusesAnswers(answer: [String], options: PermessageDeflateOptions) {
        guard case .failure = Negotiation.checkResponse(answer, options: options) else {
            Issue.record("accepted \(answer)")
            return
        }
    }
}
