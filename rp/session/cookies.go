package session

import (
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// cookieSlots holds the values of one store's cookies found in a request:
// the session cookie and its chunks (main) and the ID-token cookie and its
// chunks (idt). The values are substrings of the Cookie header.
type cookieSlots struct {
	main, idt       [MaxChunksLimit]string
	mainSet, idtSet uint32 // bit i: slot i was found
}

// scanCookies parses the request's Cookie header lines once (RFC 6265 §5.4
// format: "a=1; b=2") and fills slots with the cookies named base, base.N,
// base_idt and base_idt.N. When a name occurs more than once the first
// occurrence wins, as in http.Request.Cookie. It does not allocate.
func scanCookies(h http.Header, base string, slots *cookieSlots) {
	for _, line := range h["Cookie"] {
		for len(line) > 0 {
			var part string
			if i := strings.IndexByte(line, ';'); i >= 0 {
				part, line = line[:i], line[i+1:]
			} else {
				part, line = line, ""
			}
			part = trimOWS(part)
			if len(part) < len(base) || part[:len(base)] != base {
				continue
			}
			eq := strings.IndexByte(part, '=')
			if eq < 0 {
				continue
			}
			name := trimOWS(part[:eq])
			if len(name) < len(base) {
				continue
			}
			idt, idx, ok := classifyCookie(name[len(base):])
			if !ok {
				continue
			}
			val := trimOWS(part[eq+1:])
			if len(val) >= 2 && val[0] == '"' && val[len(val)-1] == '"' {
				val = val[1 : len(val)-1]
			}
			bit := uint32(1) << idx
			if idt {
				if slots.idtSet&bit == 0 {
					slots.idtSet |= bit
					slots.idt[idx] = val
				}
			} else if slots.mainSet&bit == 0 {
				slots.mainSet |= bit
				slots.main[idx] = val
			}
		}
	}
}

// classifyCookie interprets what follows the base name: "" (session
// cookie), ".N" (chunk N), "_idt" or "_idt.N" (ID-token cookie and chunks).
func classifyCookie(rest string) (idt bool, idx int, ok bool) {
	if strings.HasPrefix(rest, idTokenSuffix) {
		idt, rest = true, rest[len(idTokenSuffix):]
	}
	if rest == "" {
		return idt, 0, true
	}
	if rest[0] != '.' {
		return false, 0, false
	}
	n, ok := smallNumber(rest[1:])
	if !ok || n < 1 || n >= MaxChunksLimit {
		return false, 0, false
	}
	return idt, n, true
}

// smallNumber parses a canonical decimal of one or two digits.
func smallNumber(s string) (int, bool) {
	switch {
	case len(s) == 1 && '0' <= s[0] && s[0] <= '9':
		return int(s[0] - '0'), true
	case len(s) == 2 && '1' <= s[0] && s[0] <= '9' && '0' <= s[1] && s[1] <= '9':
		return int(s[0]-'0')*10 + int(s[1]-'0'), true
	}
	return 0, false
}

// trimOWS trims spaces and tabs.
func trimOWS(s string) string {
	for len(s) > 0 && (s[0] == ' ' || s[0] == '\t') {
		s = s[1:]
	}
	for len(s) > 0 && (s[len(s)-1] == ' ' || s[len(s)-1] == '\t') {
		s = s[:len(s)-1]
	}
	return s
}

// chunkName is the cookie name of chunk i.
func chunkName(base string, i int) string {
	if i == 0 {
		return base
	}
	return base + "." + strconv.Itoa(i)
}

// splitChunks splits base64 text into chunks of chunkSize and prefixes the
// first with the count ("3.") when there is more than one.
func splitChunks(text string) []string {
	n := (len(text) + chunkSize - 1) / chunkSize
	if n <= 1 {
		return []string{text}
	}
	parts := make([]string, n)
	for i := range parts {
		end := min((i+1)*chunkSize, len(text))
		parts[i] = text[i*chunkSize : end]
	}
	parts[0] = strconv.Itoa(n) + "." + parts[0]
	return parts
}

// chunkCount returns how many chunks text splits into.
func chunkCount(text string) int {
	return max(1, (len(text)+chunkSize-1)/chunkSize)
}

// joinedChunks returns the chunks of a sealed value found in vals/set in
// order, and their total length. It reports false when the first chunk is
// missing, a chunk named by the count is missing, the count exceeds
// maxChunks, or a chunk has the wrong size.
func joinedChunks(vals *[MaxChunksLimit]string, set uint32, maxChunks int) (parts [MaxChunksLimit]string, n, total int, ok bool) {
	if set&1 == 0 {
		return parts, 0, 0, false
	}
	first := vals[0]
	n = 1
	if i := strings.IndexByte(first[:min(3, len(first))], '.'); i > 0 {
		c, okc := smallNumber(first[:i])
		if !okc || c < 2 {
			return parts, 0, 0, false
		}
		n, first = c, first[i+1:]
	}
	if n > maxChunks {
		return parts, 0, 0, false
	}
	parts[0] = first
	for i := 1; i < n; i++ {
		if set&(1<<i) == 0 {
			return parts, 0, 0, false
		}
		parts[i] = vals[i]
	}
	for i := range n {
		l := len(parts[i])
		if l > chunkSize || (i < n-1 && l != chunkSize) || l == 0 {
			return parts, 0, 0, false
		}
		total += l
	}
	return parts, n, total, true
}

// cookieTimeFormat is the sane-cookie-date of RFC 6265 §4.1.1.
const cookieTimeFormat = http.TimeFormat

// setCookie adds a Set-Cookie header for one cookie, replacing one this
// response already sets for the same name. maxAge <= 0 expires the cookie.
// The cookie is HttpOnly, SameSite=Lax and host-only.
func setCookie(h http.Header, name, value, path string, expires time.Time, maxAge int, secure bool) {
	b := make([]byte, 0, len(name)+len(value)+len(path)+128)
	b = append(b, name...)
	b = append(b, '=')
	b = append(b, value...)
	b = append(b, "; Path="...)
	b = append(b, path...)
	b = append(b, "; Expires="...)
	if maxAge <= 0 {
		b = append(b, "Thu, 01 Jan 1970 00:00:00 GMT; Max-Age=0"...)
	} else {
		b = expires.UTC().AppendFormat(b, cookieTimeFormat)
		b = append(b, "; Max-Age="...)
		b = strconv.AppendInt(b, int64(maxAge), 10)
	}
	b = append(b, "; HttpOnly"...)
	if secure {
		b = append(b, "; Secure"...)
	}
	b = append(b, "; SameSite=Lax"...)
	line := string(b)

	lines := h["Set-Cookie"]
	for i, l := range lines {
		if len(l) > len(name) && l[len(name)] == '=' && l[:len(name)] == name {
			lines[i] = line
			return
		}
	}
	h["Set-Cookie"] = append(lines, line)
}

// maxAgeSeconds returns the Max-Age for a cookie that expires at expires,
// rounded up so a live session never gets a non-positive Max-Age.
func maxAgeSeconds(now, expires time.Time) int {
	d := expires.Sub(now)
	return int((d + time.Second - 1) / time.Second)
}

// maxPooledBuf bounds the buffers kept in bufPool.
const maxPooledBuf = MaxChunksLimit*chunkSize + 64

// bufPool recycles the buffers that hold decoded and decrypted cookies.
var bufPool = sync.Pool{New: func() any {
	b := make([]byte, 0, 4096)
	return &b
}}

// getBuf returns a pooled buffer of length n.
func getBuf(n int) *[]byte {
	p := bufPool.Get().(*[]byte)
	if cap(*p) < n {
		*p = make([]byte, n, max(n, 4096))
	}
	*p = (*p)[:n]
	return p
}

// putBuf wipes a buffer (it held plaintext tokens) and returns it to the
// pool.
func putBuf(p *[]byte) {
	if cap(*p) > maxPooledBuf {
		return
	}
	clear(*p)
	*p = (*p)[:0]
	bufPool.Put(p)
}
