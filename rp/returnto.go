package rp

import (
	"net/url"
	"strings"
)

// maxReturnTo bounds the length of a return path.
const maxReturnTo = 2048

// cleanReturnTo accepts a same-origin relative path (with optional query)
// and refuses everything a browser could resolve to another origin:
// absolute URLs, scheme-relative "//host", "/\host", backslashes, control
// characters and anything that is not rooted at "/". The fragment is
// dropped.
func cleanReturnTo(s string) (string, bool) {
	if s == "" || len(s) > maxReturnTo || s[0] != '/' {
		return "", false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c == 0x7f || c == '\\' {
			return "", false
		}
	}
	if len(s) > 1 && (s[1] == '/' || s[1] == '\\') {
		return "", false
	}
	u, err := url.Parse(s)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || u.Opaque != "" {
		return "", false
	}
	// A path that decodes to "//host" is resolved by some browsers as
	// scheme-relative once decoded.
	if p := u.Path; strings.HasPrefix(p, "//") || strings.HasPrefix(p, "/\\") {
		return "", false
	}
	u.Fragment, u.RawFragment = "", ""
	out := u.RequestURI()
	// Escaping can triple the length; the bound is on what is kept.
	if len(out) > maxReturnTo {
		return "", false
	}
	return out, true
}
