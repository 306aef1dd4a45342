import Testing
@testable import TraceModel

/// How queries are understood: each form's parsed tree (`structure`, in
/// prefix form, cheap tests first), and each mistake's position and words.
@Suite struct TraceQueryParserTests {
    static func structure(_ text: String) throws -> String {
        try TraceQuery.parse(text).program.structure
    }

    static func failure(_ text: String) -> String? {
        do {
            _ = try TraceQuery.parse(text)
            return nil
        } catch {
            return error.description
        }
    }

    static func findFailure(_ text: String) -> String? {
        do {
            _ = try SpanQuery.parse(text)
            return nil
        } catch {
            return error.description
        }
    }

    // MARK: Forms

    @Test(arguments: [
        ("service=server-2", "exists({service=server-2})"),
        ("op=server-1_to_server-2", "exists({op=server-1_to_server-2})"),
        ("service~=SERVER", "exists({service~=SERVER})"),
        ("op~=to", "exists({op~=to})"),
        ("root.service=server-1", "root(service=server-1)"),
        ("root.op=server-1", "root(op=server-1)"),
        ("root.op~=SERVER", "root(op~=SERVER)"),
        ("root.service!=server-1", "not(root(service=server-1))"),
        ("dur>300ms", "dur>300000000ns"),
        ("dur=1s", "dur=1000000000ns"),
        ("dur!=1s", "dur!=1000000000ns"),
        ("dur>=2m", "dur>=120000000000ns"),
        ("dur<10us", "dur<10000ns"),
        ("dur<=1h", "dur<=3600000000000ns"),
        ("spans>100", "spans>100"),
        ("services>=2", "services>=2"),
        ("errors>0", "errors>0"),
        ("errors=0", "errors=0"),
        ("trace=4bf92f", "trace=6 digits"),
        ("trace!=4BF92F3577B34DA6", "not(trace=16 digits)"),
        ("error", "error"),
        ("orphan", "orphan"),
        ("ERROR", "error"),
        ("alice", "exists({word:alice})"),
        ("\"error\"", "exists({word:error})"),
        ("tag.http.status_code", "exists({tag.http.status_code})"),
        ("tag.http.status_code=500", "exists({tag.http.status_code=500})"),
        ("tag.http.status_code>=500", "exists({tag.http.status_code>=500})"),
        ("tag.http.status_code<300", "exists({tag.http.status_code<300})"),
        ("tag.http.url~=ALICE", "exists({tag.http.url~=ALICE})"),
        ("tag.http.method!=GET", "not(exists({tag.http.method=GET}))"),
        ("tag.Mixed.Case=x", "exists({tag.Mixed.Case=x})"),
        ("service!=server-2", "not(exists({service=server-2}))"),
        ("service = server-2", "exists({service=server-2})"),
        ("dur > 300ms", "dur>300000000ns"),
    ])
    func traceLevelTerms(text: String, expected: String) throws {
        #expect(try Self.structure(text) == expected)
    }

    @Test(arguments: [
        ("{service=server-2 dur>400ms}", "exists({and(service=server-2, dur>400000000ns)})"),
        ("{service!=server-2}", "exists({not(service=server-2)})"),
        ("{op~=GET}", "exists({op~=GET})"),
        ("{kind=server}", "exists({kind=server})"),
        ("{kind!=CLIENT}", "exists({not(kind=client)})"),
        ("{kind=producer} {kind=consumer} {kind=internal}",
         "and(exists({kind=producer}), exists({kind=consumer}), exists({kind=internal}))"),
        ("{status=error}", "exists({status=error})"),
        ("{status=ok}", "exists({status=ok})"),
        ("{status!=unset}", "exists({not(status=unset)})"),
        ("{error}", "exists({error})"),
        ("{orphan}", "exists({orphan})"),
        ("{self>10ms}", "exists({self>10000000ns})"),
        ("{dur<=1.5s}", "exists({dur<=1500000000ns})"),
        ("{event~=timeout}", "exists({event~=timeout})"),
        ("{event=exception}", "exists({event=exception})"),
        ("{event!=exception}", "exists({not(event=exception)})"),
        ("{tag.http.status_code}", "exists({tag.http.status_code})"),
        ("{tag.http.status_code>=500}", "exists({tag.http.status_code>=500})"),
        // Inside braces != is about the one span: it has the key, with another value.
        ("{tag.http.method!=GET}", "exists({and(tag.http.method, not(tag.http.method=GET))})"),
        ("{alice}", "exists({word:alice})"),
        ("{\"GET /users\"}", "exists({word:GET /users})"),
        ("{}", "exists({any})"),
        ("{ service=a or service=b }", "exists({or(service=a, service=b)})"),
        ("{not error}", "exists({not(error)})"),
        ("{(service=a or op=b) and not error}", "exists({and(or(service=a, op=b), not(error))})"),
        // Cheap header tests first, attributes after.
        ("{tag.k=v service=a}", "exists({and(service=a, tag.k=v)})"),
    ])
    func spanLevelTerms(text: String, expected: String) throws {
        #expect(try Self.structure(text) == expected)
    }

    @Test(arguments: [
        ("{op=server-1_to_server-2} > {service=server-2 error}",
         "exists({op=server-1_to_server-2} > {and(service=server-2, error)})"),
        ("{service=a} >> {error}", "exists({service=a} >> {error})"),
        ("{a} > {b} > {c}", "exists({word:a} > {word:b} > {word:c})"),
        ("{a}>{b}>>{c}", "exists({word:a} > {word:b} >> {word:c})"),
        // A plain set is cheaper than a structural one, so it goes first.
        ("{a} > {b} or {c}", "or(exists({word:c}), exists({word:a} > {word:b}))"),
        ("{a} {b}", "and(exists({word:a}), exists({word:b}))"),
    ])
    func structuralTerms(text: String, expected: String) throws {
        #expect(try Self.structure(text) == expected)
    }

    @Test(arguments: [
        // Juxtaposition is and; facts go first (cheap), order otherwise kept.
        ("service=server-2 dur>700ms", "and(dur>700000000ns, exists({service=server-2}))"),
        ("a b c", "and(exists({word:a}), exists({word:b}), exists({word:c}))"),
        ("a and b", "and(exists({word:a}), exists({word:b}))"),
        ("a or b c", "or(exists({word:a}), and(exists({word:b}), exists({word:c})))"),
        ("a b or c", "or(and(exists({word:a}), exists({word:b})), exists({word:c}))"),
        ("not a b", "and(not(exists({word:a})), exists({word:b}))"),
        ("not (a b)", "not(and(exists({word:a}), exists({word:b})))"),
        ("not not a", "not(not(exists({word:a})))"),
        ("a and not b or c", "or(and(exists({word:a}), not(exists({word:b}))), exists({word:c}))"),
        ("(a or b) c", "and(or(exists({word:a}), exists({word:b})), exists({word:c}))"),
        ("a (b or c)", "and(exists({word:a}), or(exists({word:b}), exists({word:c})))"),
        ("a or (b or c)", "or(exists({word:a}), exists({word:b}), exists({word:c}))"),
        ("tag.http.status_code>=500 or error", "or(error, exists({tag.http.status_code>=500}))"),
        ("not service=server-2", "not(exists({service=server-2}))"),
        ("A OR B AND NOT C", "or(exists({word:A}), and(exists({word:B}), not(exists({word:C}))))"),
        ("  service=a  ", "exists({service=a})"),
        // `or=1` is a field (unknown), `orange` a word, not the keyword.
        ("orange andes", "and(exists({word:orange}), exists({word:andes}))"),
    ])
    func precedence(text: String, expected: String) throws {
        #expect(try Self.structure(text) == expected)
    }

    @Test(arguments: [
        ("op=\"GET /users\"", "exists({op=GET /users})"),
        ("\"GET /users\"", "exists({word:GET /users})"),
        ("op=\"say \\\"hi\\\"\"", "exists({op=say \"hi\"})"),
        ("op=\"back\\\\slash\"", "exists({op=back\\slash})"),
        ("op=\"\"", "exists({op=})"),
        ("op=\"a=b (c) {d}\"", "exists({op=a=b (c) {d}})"),
        ("op=\"and\" \"or\"", "and(exists({op=and}), exists({word:or}))"),
        // An unquoted value runs to a space or a bracket, operators included.
        ("tag.q=a=b", "exists({tag.q=a=b})"),
        ("{service=a}", "exists({service=a})"),
        ("(service=a)", "exists({service=a})"),
        ("service=zoë", "exists({service=zoë})"),
    ])
    func quoting(text: String, expected: String) throws {
        #expect(try Self.structure(text) == expected)
    }

    @Test(arguments: [
        ("10ns", 10), ("10us", 10_000), ("10µs", 10_000), ("10μs", 10_000), ("300ms", 300_000_000),
        ("1s", 1_000_000_000), ("1.5s", 1_500_000_000), ("0.25ms", 250_000), (".5s", 500_000_000),
        ("2m", 120_000_000_000), ("1.5m", 90_000_000_000), ("1h", 3_600_000_000_000), ("0ns", 0),
        ("1.0000000001s", 1_000_000_000), ("1.0000000006s", 1_000_000_001), ("007ms", 7_000_000),
    ] as [(String, UInt64)])
    func units(text: String, nanos: UInt64) throws {
        #expect(QueryDuration.nanoseconds(text) == nanos)
        #expect(try Self.structure("dur=\(text)") == "dur=\(nanos)ns")
    }

    @Test(arguments: ["300", "300 ms", "ms", "1.s", "1..5s", "1.5.5s", "-1s", "+1s", "1e3ms", "5d", "3S", "1,5s",
                      "99999999999999999999s", "999999999999m"])
    func badDurations(text: String) {
        #expect(QueryDuration.nanoseconds(text) == nil)
    }

    @Test func emptyQueriesMatchEverything() throws {
        #expect(try TraceQuery.parse("").isEmpty)
        #expect(try TraceQuery.parse("   \t ").isEmpty)
        #expect(TraceQuery().isEmpty)
        #expect(try !TraceQuery.parse("a").isEmpty)
        #expect(try TraceQuery.parse("a").text == "a")
        #expect(try TraceQuery.parse("a b") == TraceQuery.parse("a b"))
        #expect(try TraceQuery.parse("a b") != TraceQuery.parse("a  b"))
    }

    // MARK: Errors

    @Test(arguments: [
        ("service=", "position 9: expected a value after '='"),
        ("service= ", "position 10: expected a value after '='"),
        ("service=)", "position 9: expected a value after '='"),
        ("service==x", "position 9: expected a value after '='"),
        ("tag.x!=", "position 8: expected a value after '!='"),
        ("{a b", "position 5: expected '}'"),
        ("{a", "position 3: expected '}'"),
        ("{a )", "position 4: expected '}'"),
        (")", "position 1: expected a term"),
        ("or x", "position 1: expected a term"),
        ("and", "position 1: expected a term"),
        ("a or", "position 5: expected a term"),
        ("a and and b", "position 7: expected a term"),
        ("not", "position 4: expected a term"),
        ("=x", "position 1: expected a term"),
        ("a =", "position 1: expected a field (service, op, dur, ...)"),
        ("foo=bar", "position 1: expected a field (service, op, dur, ...)"),
        ("x or foo.bar>1", "position 6: expected a field (service, op, dur, ...)"),
        ("{foo=bar}", "position 2: expected a field (service, op, dur, ...)"),
        ("dur>300", "position 5: expected a duration like 300ms"),
        ("dur>1.5.5s", "position 5: expected a duration like 300ms"),
        ("{dur>abc}", "position 6: expected a duration like 300ms"),
        ("{self<=5x}", "position 8: expected a duration like 300ms"),
        ("service>x", "position 8: expected '=', '!=' or '~=' after service"),
        ("dur~=1s", "position 4: expected '=', '!=', '<', '<=', '>' or '>=' after dur"),
        ("{kind>server}", "position 6: expected '=' or '!=' after kind"),
        ("spans>many", "position 7: expected a whole number like 100"),
        ("errors>1.5", "position 8: expected a whole number like 100"),
        ("trace=xyz", "position 7: expected a trace id prefix: 1 to 32 hex digits"),
        ("trace=\(String(repeating: "a", count: 33))", "position 7: expected a trace id prefix: 1 to 32 hex digits"),
        ("tag.x>abc", "position 7: expected a number after '>'"),
        ("tag.=1", "position 5: expected an attribute key after 'tag.'"),
        ("tag.", "position 5: expected an attribute key after 'tag.'"),
        ("{kind=server-ish}", "position 7: expected a span kind (server, client, producer, consumer, internal, unspecified)"),
        ("{status=bad}", "position 9: expected a status (error, ok, unset)"),
        ("error=true", "position 6: expected 'error' alone: it is a flag (for the attribute, tag.error=...)"),
        ("kind=server", "position 1: expected a field (service, op, dur, ...): kind is about one span, write {kind=...}"),
        ("{spans>1}", "position 2: expected a field (service, op, dur, ...): spans is about the whole trace, write it outside braces"),
        ("(a", "position 3: expected ')'"),
        ("(a}", "position 3: expected ')'"),
        ("()", "position 2: expected a term inside the parentheses"),
        ("a)", "position 2: expected the end of the query: this ')' closes nothing"),
        ("a}", "position 2: expected the end of the query: this '}' closes nothing"),
        ("{a} > b", "position 7: expected '{' after '>'"),
        ("{a} >> ", "position 8: expected '{' after '>>'"),
        ("{a} >= {b}", "position 6: expected '{' after '>'"),
        ("{{a}}", "position 2: expected a term of one span: braces do not nest"),
        ("\"abc", "position 5: expected '\"' to close the quote opened at position 1"),
        ("op=\"a\\x\"", "position 7: expected '\"' or '\\' after a backslash (the only escapes)"),
        ("op=ab\"c\"", "position 6: expected a space before '\"' (quote the whole value)"),
        // Positions count Characters: the flag is one, whatever its bytes.
        ("\"👍🏽\" service=", "position 13: expected a value after '='"),
        ("zoë=1", "position 1: expected a field (service, op, dur, ...)"),
    ])
    func errorsSayWhereAndWhat(text: String, expected: String) {
        #expect(Self.failure(text) == expected)
    }

    @Test func errorCarriesItsParts() {
        do {
            _ = try TraceQuery.parse("service=")
            Issue.record("parsed")
        } catch {
            #expect(error.position == 9)
            #expect(error.expected == "a value after '='")
            #expect(error == QueryError(position: 9, expected: "a value after '='"))
        }
    }

    @Test func nestingIsBounded() throws {
        let deep = 64
        let ok = String(repeating: "(", count: deep) + "a" + String(repeating: ")", count: deep)
        #expect(try Self.structure(ok) == "exists({word:a})")
        let tooDeep = String(repeating: "(", count: deep + 1) + "a" + String(repeating: ")", count: deep + 1)
        #expect(Self.failure(tooDeep) == "position 65: expected at most 64 levels of nesting")
        // `not` and braces count too: a hostile query cannot recurse without end.
        let nots = String(repeating: "not ", count: 200) + "a"
        #expect(Self.failure(nots) == "position 257: expected at most 64 levels of nesting")
        let chain = Array(repeating: "{a}", count: 100).joined(separator: " > ")
        #expect(Self.failure(chain)?.hasSuffix("expected at most 64 levels of nesting") == true)
        let inner = "{" + String(repeating: "(", count: 70) + "a" + String(repeating: ")", count: 70) + "}"
        #expect(Self.failure(inner) == "position 65: expected at most 64 levels of nesting")
    }

    @Test func lengthIsBounded() throws {
        let longest = String(repeating: "a", count: 4096)
        #expect(try Self.structure(longest) == "exists({word:\(longest)})")
        #expect(Self.failure(longest + "a") == "position 4097: expected a query of at most 4096 bytes")
        // Counted in bytes, pointed at in Characters.
        let wide = String(repeating: "é", count: 2049)
        #expect(Self.failure(wide) == "position 2049: expected a query of at most 4096 bytes")
    }

    // MARK: Find bar

    @Test func findTextIsPlainUnlessItStartsWithABrace() throws {
        #expect(try SpanQuery.parse("").isEmpty)
        #expect(try SpanQuery.parse("   ").isEmpty)
        #expect(try SpanQuery.parse("GET /users").program.structure == "{text:GET /users}")
        // Plain text never fails, whatever it holds.
        #expect(try SpanQuery.parse("a{b\"(").program.structure == "{text:a{b\"(}")
        #expect(try SpanQuery.parse("{kind=server}").program.structure == "{kind=server}")
        #expect(try SpanQuery.parse("  {error}").program.structure == "{error}")
        #expect(try SpanQuery.parse("{a} or {b} {c}").program.structure == "or({word:a}, and({word:b}, {word:c}))")
        #expect(try SpanQuery.parse("{a} and not {b}").program.structure == "and({word:a}, not({word:b}))")
        // Only a leading brace makes span terms: anything else is text to find.
        #expect(try SpanQuery.parse("not {a}").program.structure == "{text:not {a}}")
        #expect(try SpanQuery.parse("{a} > {b}").program.structure == "{word:a} > {word:b}")
        #expect(try SpanQuery.parse("{c} and ({a} or {b})").program.structure == "and({word:c}, or({word:a}, {word:b}))")
        #expect(Self.findFailure("{a") == "position 3: expected '}'")
        #expect(Self.findFailure("{a} b") == "position 5: expected '{': span terms go in braces, like {service=server-2}")
        #expect(Self.findFailure("{a} or") == "position 7: expected '{': span terms go in braces, like {service=server-2}")
        #expect(Self.findFailure("{spans>2}")?.hasPrefix("position 2: expected a field") == true)
    }
}
