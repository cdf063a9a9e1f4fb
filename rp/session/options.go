package session

import (
	"fmt"
	"time"
)

// Defaults of [CookieOptions].
const (
	DefaultCookieName  = "oidcrp_session"
	DefaultPath        = "/"
	DefaultMaxAge      = 12 * time.Hour
	DefaultIDTokenPath = "/logout"
	DefaultMaxChunks   = 4
)

// MaxChunksLimit is the largest [CookieOptions.MaxChunks] accepted.
const MaxChunksLimit = 16

// chunkSize is the base64 payload of one cookie chunk. It is a multiple of
// 4 so every chunk decodes on its own; with the count prefix of the first
// chunk ("3.") a cookie value stays under 3800 bytes, and with its name and
// attributes under the 4096 bytes browsers keep per cookie (RFC 6265 §6.1).
const chunkSize = 3796

// idTokenSuffix names the ID-token cookie after the session cookie.
const idTokenSuffix = "_idt"

// CookieOptions configures the cookies of [CookieStore] and [ServerStore].
// The zero value is usable: every field has a default.
//
// Every cookie is HttpOnly, SameSite=Lax and host-only (no Domain
// attribute, RFC 6265 §5.3 step 6), and Secure when Secure is set. A name
// with the "__Host-" prefix (RFC 6265bis §4.1.3.2) additionally stops a
// sibling subdomain from planting a cookie of the same name; it requires
// Secure and Path "/".
type CookieOptions struct {
	// Name is the session cookie's name; chunks are named Name, Name.1,
	// Name.2 … and the ID-token cookie Name_idt. Default "oidcrp_session".
	Name string
	// Path is the session cookie's Path attribute. Default "/".
	Path string
	// Secure sets the Secure attribute; set it whenever the site is served
	// over https.
	Secure bool
	// MaxAge is the absolute session lifetime, counted from
	// Session.CreatedAt; cookies expire then and Load refuses the session
	// afterwards. Default 12h.
	MaxAge time.Duration
	// IDTokenPath is the Path of the cookie that carries the raw ID token
	// ([CookieStore] only). The ID token is needed only at logout (as
	// id_token_hint), so it travels in its own sealed cookie that the
	// browser sends only under this path, not with every request. Load
	// fills Session.IDToken only when that cookie is present. Default
	// "/logout".
	IDTokenPath string
	// MaxChunks is how many cookies one sealed value may span
	// ([CookieStore] only). Save fails with ErrTooLarge rather than write
	// more, and Load refuses a value that claims more. Default 4, at most
	// MaxChunksLimit.
	MaxChunks int
	// Now is the clock used for expiry. Default time.Now.
	Now func() time.Time
}

// Validate reports a malformed option: a Name that is not an RFC 6265
// cookie-name token, a Path or IDTokenPath that does not start with "/" or
// holds a character not allowed in the attribute, a negative MaxAge or a
// MaxChunks outside 0..MaxChunksLimit. Zero values are fine (defaults).
func (o CookieOptions) Validate() error {
	if o.Name != "" && !validCookieName(o.Name) {
		return fmt.Errorf("session: cookie options: invalid cookie name %q", o.Name)
	}
	for _, p := range []struct{ field, v string }{{"Path", o.Path}, {"IDTokenPath", o.IDTokenPath}} {
		if p.v != "" && !validCookiePath(p.v) {
			return fmt.Errorf("session: cookie options: invalid %s %q", p.field, p.v)
		}
	}
	if o.MaxAge < 0 {
		return fmt.Errorf("session: cookie options: negative MaxAge %v", o.MaxAge)
	}
	if o.MaxChunks < 0 || o.MaxChunks > MaxChunksLimit {
		return fmt.Errorf("session: cookie options: MaxChunks %d outside 0..%d", o.MaxChunks, MaxChunksLimit)
	}
	return nil
}

// withDefaults returns o with every zero field set to its default.
func (o CookieOptions) withDefaults() CookieOptions {
	if o.Name == "" {
		o.Name = DefaultCookieName
	}
	if o.Path == "" {
		o.Path = DefaultPath
	}
	if o.MaxAge == 0 {
		o.MaxAge = DefaultMaxAge
	}
	if o.IDTokenPath == "" {
		o.IDTokenPath = DefaultIDTokenPath
	}
	if o.MaxChunks == 0 {
		o.MaxChunks = DefaultMaxChunks
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return o
}

// validCookieName reports whether name is an RFC 6265 §4.1.1 cookie-name
// (an RFC 7230 token) short enough to leave room for chunk suffixes.
func validCookieName(name string) bool {
	if name == "" || len(name) > 200 {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if c <= ' ' || c >= 0x7f {
			return false
		}
		switch c {
		case '(', ')', '<', '>', '@', ',', ';', ':', '\\', '"', '/', '[', ']', '?', '=', '{', '}':
			return false
		}
	}
	return true
}

// validCookiePath reports whether p is an absolute path usable as a Path
// attribute value (RFC 6265 §4.1.1: any CHAR except CTLs or ";").
func validCookiePath(p string) bool {
	if p == "" || p[0] != '/' || len(p) > 1024 {
		return false
	}
	for i := 0; i < len(p); i++ {
		if c := p[i]; c < 0x20 || c >= 0x7f || c == ';' {
			return false
		}
	}
	return true
}
