// Package httpx holds the HTTP helpers every oidcrp package shares: a client
// with timeouts and a response-size limit, and the https-or-loopback rule for
// provider URLs.
package httpx

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// DefaultMaxBody is the largest response body read from a provider (1 MiB).
const DefaultMaxBody int64 = 1 << 20

// DefaultTimeout bounds a whole outbound request, body included.
const DefaultTimeout = 10 * time.Second

// ErrBodyTooLarge is returned while reading a response body that is larger
// than the limit.
var ErrBodyTooLarge = errors.New("response body too large")

// NewClient returns an HTTP client with a total timeout, bounded dial, TLS
// and header waits, and response bodies capped at maxBody bytes (0 means
// DefaultMaxBody). Reading past the cap fails with ErrBodyTooLarge.
func NewClient(timeout time.Duration, maxBody int64) *http.Client {
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	base := &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          100,
		MaxIdleConnsPerHost:   16,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   5 * time.Second,
		ResponseHeaderTimeout: timeout,
		ExpectContinueTimeout: time.Second,
	}
	return &http.Client{
		Timeout:   timeout,
		Transport: LimitTransport(base, maxBody),
		// Providers' back-channel endpoints do not redirect; following a
		// redirect could carry a request to a host nobody configured.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// Default is the client used when a caller's configuration leaves its
// HTTPClient nil.
var Default = NewClient(DefaultTimeout, DefaultMaxBody)

// Client returns c, or Default when c is nil.
func Client(c *http.Client) *http.Client {
	if c != nil {
		return c
	}
	return Default
}

// LimitTransport wraps rt (nil means http.DefaultTransport) so that every
// response body fails with ErrBodyTooLarge once more than maxBody bytes were
// read (0 means DefaultMaxBody).
func LimitTransport(rt http.RoundTripper, maxBody int64) http.RoundTripper {
	if rt == nil {
		rt = http.DefaultTransport
	}
	if maxBody <= 0 {
		maxBody = DefaultMaxBody
	}
	return &limitTransport{rt: rt, max: maxBody}
}

type limitTransport struct {
	rt  http.RoundTripper
	max int64
}

func (t *limitTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := t.rt.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	if resp.ContentLength > t.max {
		resp.Body.Close()
		return nil, fmt.Errorf("%s %s: %w (Content-Length %d > %d)", req.Method, req.URL.Redacted(), ErrBodyTooLarge, resp.ContentLength, t.max)
	}
	resp.Body = &limitedBody{rc: resp.Body, left: t.max}
	return resp, nil
}

type limitedBody struct {
	rc   io.ReadCloser
	left int64
}

func (b *limitedBody) Read(p []byte) (int, error) {
	if b.left <= 0 {
		// Probe for one more byte: an exact-size body ends cleanly.
		var one [1]byte
		n, err := b.rc.Read(one[:])
		if n > 0 {
			return 0, ErrBodyTooLarge
		}
		return 0, err
	}
	if int64(len(p)) > b.left {
		p = p[:b.left]
	}
	n, err := b.rc.Read(p)
	b.left -= int64(n)
	return n, err
}

func (b *limitedBody) Close() error { return b.rc.Close() }

// ReadBody reads at most max bytes (0 means DefaultMaxBody) of r and fails
// with ErrBodyTooLarge when there is more.
func ReadBody(r io.Reader, max int64) ([]byte, error) {
	if max <= 0 {
		max = DefaultMaxBody
	}
	b, err := io.ReadAll(io.LimitReader(r, max+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > max {
		return nil, ErrBodyTooLarge
	}
	return b, nil
}

// IsLoopbackHost reports whether host (a hostname, without port) is
// localhost, a name under .localhost, or an address in 127.0.0.0/8 or ::1.
func IsLoopbackHost(host string) bool {
	host = strings.TrimSuffix(strings.ToLower(host), ".")
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return true
	}
	ip := net.ParseIP(strings.Trim(host, "[]"))
	return ip != nil && ip.IsLoopback()
}

// CheckURL checks that raw is an absolute URL without user info or
// fragment, and that it uses https, or http to a loopback host. With
// allowHTTP, http is accepted for every host.
func CheckURL(what, raw string, allowHTTP bool) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("%s %q is not a URL: %w", what, raw, err)
	}
	if u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return nil, fmt.Errorf("%s %q must be an absolute http(s) URL", what, raw)
	}
	if u.User != nil {
		return nil, fmt.Errorf("%s %q must not carry user info", what, raw)
	}
	if u.Fragment != "" {
		return nil, fmt.Errorf("%s %q must not have a fragment", what, raw)
	}
	if u.Scheme == "http" && !allowHTTP && !IsLoopbackHost(u.Hostname()) {
		return nil, fmt.Errorf("%s %q must use https (http is allowed only for loopback hosts)", what, raw)
	}
	return u, nil
}

// SameOrigin compares scheme, host name (case-insensitively) and port, with
// the scheme's default port filled in (RFC 6454).
func SameOrigin(a, b *url.URL) bool {
	return strings.EqualFold(a.Scheme, b.Scheme) &&
		strings.EqualFold(a.Hostname(), b.Hostname()) &&
		portOf(a) == portOf(b)
}

func portOf(u *url.URL) string {
	if p := u.Port(); p != "" {
		return p
	}
	switch strings.ToLower(u.Scheme) {
	case "https":
		return "443"
	case "http":
		return "80"
	}
	return ""
}
