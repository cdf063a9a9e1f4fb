package userinfo

import (
	"net/http"
	"strings"
)

// Challenge is one challenge of a WWW-Authenticate header (RFC 9110
// §11.6.1): an authentication scheme with either auth-params or a token68.
type Challenge struct {
	// Scheme is the authentication scheme as sent ("Bearer", "Basic", …);
	// compare it case-insensitively.
	Scheme string
	// Params holds the auth-params, names lower-cased, quoted-string
	// values unescaped. When a name repeats, the first value is kept.
	Params map[string]string
	// Token68 is the token68 form of credentials (RFC 9110 §11.2), when
	// the challenge has one instead of auth-params.
	Token68 string
}

// ParseWWWAuthenticate parses the value of a WWW-Authenticate header
// (RFC 9110 §11.6.1) into its challenges, in order. Several header lines
// can be joined with ", " first (RFC 9110 §5.3); [ParseChallenges] does
// that.
//
// It accepts tokens and quoted strings with backslash escapes (commas and
// equals signs inside quotes are data), optional whitespace around commas
// and equals signs, empty list elements, and several challenges in one
// value. It never fails: malformed parts (an unterminated quote, stray
// characters) are skipped up to the next comma, so a provider's broken
// header costs at most the parameter it garbled.
func ParseWWWAuthenticate(h string) []Challenge {
	p := authParser{s: h}
	var out []Challenge
	var cur *Challenge
	for {
		p.skipListSeparators()
		if p.done() {
			break
		}
		name := p.token()
		if name == "" {
			p.skipToComma() // not a token: garbage
			continue
		}
		afterName := p.i
		p.skipOWS()
		if cur != nil && p.peek() == '=' && p.isAuthParam() {
			// name=value inside the current challenge.
			p.i++
			p.skipOWS()
			value, ok := p.value()
			if ok {
				key := strings.ToLower(name)
				if _, dup := cur.Params[key]; !dup {
					cur.Params[key] = value
				}
			}
			p.skipToComma()
			continue
		}
		// A new challenge: the scheme, then token68 or the first param.
		p.i = afterName
		out = append(out, Challenge{Scheme: name, Params: map[string]string{}})
		cur = &out[len(out)-1]
		if p.i < len(p.s) && !isSpace(p.s[p.i]) {
			// Something glued to the scheme ("Bearer,"): no credentials.
			if p.peek() != ',' {
				p.skipToComma()
			}
			continue
		}
		p.skipOWS()
		if p.done() || p.peek() == ',' {
			continue
		}
		if t68, ok := p.token68(); ok {
			cur.Token68 = t68
			p.skipToComma()
		}
	}
	return out
}

// ParseChallenges parses every WWW-Authenticate line of h.
func ParseChallenges(h http.Header) []Challenge {
	return ParseWWWAuthenticate(strings.Join(h.Values("WWW-Authenticate"), ", "))
}

// authParser is a cursor over a header value.
type authParser struct {
	s string
	i int
}

func (p *authParser) done() bool { return p.i >= len(p.s) }

func (p *authParser) peek() byte {
	if p.done() {
		return 0
	}
	return p.s[p.i]
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' }

func (p *authParser) skipOWS() {
	for !p.done() && isSpace(p.s[p.i]) {
		p.i++
	}
}

// skipListSeparators skips whitespace and empty list elements.
func (p *authParser) skipListSeparators() {
	for !p.done() && (isSpace(p.s[p.i]) || p.s[p.i] == ',') {
		p.i++
	}
}

// skipToComma moves to the next comma outside a quoted string (or the
// end); the comma itself is left for skipListSeparators.
func (p *authParser) skipToComma() {
	for !p.done() {
		switch p.s[p.i] {
		case ',':
			return
		case '"':
			p.quoted()
		default:
			p.i++
		}
	}
}

// isTchar reports whether c is a tchar (RFC 9110 §5.6.2).
func isTchar(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	return strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0
}

// isToken68Char reports whether c may appear in a token68 before its
// trailing "=" padding (RFC 9110 §11.2).
func isToken68Char(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	return strings.IndexByte("-._~+/", c) >= 0
}

// token reads a token (possibly empty).
func (p *authParser) token() string {
	start := p.i
	for !p.done() && isTchar(p.s[p.i]) {
		p.i++
	}
	return p.s[start:p.i]
}

// isAuthParam reports, with the cursor on the "=" after a name, whether
// this is name=value rather than the padding of a token68: a value must
// follow.
func (p *authParser) isAuthParam() bool {
	j := p.i + 1
	for j < len(p.s) && isSpace(p.s[j]) {
		j++
	}
	return j < len(p.s) && (p.s[j] == '"' || isTchar(p.s[j])) && p.s[j] != '='
}

// value reads a token or a quoted string.
func (p *authParser) value() (string, bool) {
	if p.peek() == '"' {
		return p.quoted(), true
	}
	v := p.token()
	return v, v != ""
}

// quoted reads a quoted string starting at the opening quote and returns
// it unescaped (RFC 9110 §5.6.4). An unterminated string runs to the end.
func (p *authParser) quoted() string {
	p.i++ // opening quote
	var b strings.Builder
	for !p.done() {
		c := p.s[p.i]
		switch {
		case c == '"':
			p.i++
			return b.String()
		case c == '\\' && p.i+1 < len(p.s):
			b.WriteByte(p.s[p.i+1])
			p.i += 2
		default:
			b.WriteByte(c)
			p.i++
		}
	}
	return b.String()
}

// token68 reads a token68 that ends the challenge (followed by optional
// whitespace and then a comma or the end). Otherwise it leaves the cursor
// where it was and reports false.
func (p *authParser) token68() (string, bool) {
	start := p.i
	j := p.i
	for j < len(p.s) && isToken68Char(p.s[j]) {
		j++
	}
	if j == start {
		return "", false
	}
	for j < len(p.s) && p.s[j] == '=' {
		j++
	}
	end := j
	for j < len(p.s) && isSpace(p.s[j]) {
		j++
	}
	if j < len(p.s) && p.s[j] != ',' {
		return "", false
	}
	p.i = end
	return p.s[start:end], true
}
