package logout

import (
	"errors"
	"fmt"
	"mime"
	"net/http"
	"net/url"

	"github.com/oidcrp/oidcrp/internal/httpx"
)

// MaxRequestBody is the largest back-channel logout request body
// ParseRequest reads, in bytes.
const MaxRequestBody = 64 << 10

// ParseRequest extracts the logout token from a back-channel logout
// request (OpenID Connect Back-Channel Logout 1.0 §2.5): a POST whose body
// is application/x-www-form-urlencoded, at most MaxRequestBody bytes, with
// exactly one non-empty logout_token parameter. The query string is
// ignored. w may be nil; when given, an oversized body also makes the
// server close the connection (see [http.MaxBytesReader]). The body is
// consumed.
//
// A wrong method gives a [*MethodError] (matching [ErrMethodNotAllowed]);
// every other problem matches [ErrInvalidRequest].
func (v *Verifier) ParseRequest(w http.ResponseWriter, r *http.Request) (string, error) {
	return parseBackchannelRequest(w, r)
}

// VerifyRequest is [Verifier.ParseRequest] followed by [Verifier.Verify]
// with the request's context.
func (v *Verifier) VerifyRequest(w http.ResponseWriter, r *http.Request) (*Claims, error) {
	token, err := v.ParseRequest(w, r)
	if err != nil {
		return nil, err
	}
	return v.Verify(r.Context(), token)
}

func parseBackchannelRequest(w http.ResponseWriter, r *http.Request) (string, error) {
	if r.Method != http.MethodPost {
		return "", &MethodError{Method: r.Method, Allow: http.MethodPost}
	}
	ct := r.Header.Get("Content-Type")
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil || mt != "application/x-www-form-urlencoded" {
		return "", fmt.Errorf("logout: %w: Content-Type %q, want application/x-www-form-urlencoded", ErrInvalidRequest, truncate(ct))
	}
	if r.Body == nil {
		return "", fmt.Errorf("logout: %w: no body", ErrInvalidRequest)
	}
	body := r.Body
	if w != nil {
		body = http.MaxBytesReader(w, r.Body, MaxRequestBody)
	}
	b, err := httpx.ReadBody(body, MaxRequestBody)
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.Is(err, httpx.ErrBodyTooLarge) || errors.As(err, &tooLarge) {
			return "", fmt.Errorf("logout: %w: body larger than %d bytes", ErrInvalidRequest, MaxRequestBody)
		}
		return "", fmt.Errorf("logout: %w: read body: %w", ErrInvalidRequest, err)
	}
	form, err := url.ParseQuery(string(b))
	if err != nil {
		return "", fmt.Errorf("logout: %w: body: %w", ErrInvalidRequest, err)
	}
	switch tokens := form["logout_token"]; {
	case len(tokens) == 0 || tokens[0] == "":
		return "", fmt.Errorf("logout: %w: no logout_token", ErrInvalidRequest)
	case len(tokens) > 1:
		return "", fmt.Errorf("logout: %w: logout_token given %d times", ErrInvalidRequest, len(tokens))
	default:
		return tokens[0], nil
	}
}

// WriteBackchannelResponse answers a back-channel logout request (OpenID
// Connect Back-Channel Logout 1.0 §2.8), always with Cache-Control:
// no-store. With err nil (the logout succeeded) it writes 200 with an empty
// body. A [*MethodError] gives 405 with an Allow header. Any other error —
// a rejected token, a malformed request, or a logout that failed — gives
// 400 with the JSON body {"error":"invalid_request"}; the details are for
// the application's log, not for the provider.
func WriteBackchannelResponse(w http.ResponseWriter, err error) {
	h := w.Header()
	h.Set("Cache-Control", "no-store")
	if err == nil {
		w.WriteHeader(http.StatusOK)
		return
	}
	var me *MethodError
	if errors.As(err, &me) {
		h.Set("Allow", me.Allow)
		http.Error(w, http.StatusText(http.StatusMethodNotAllowed), http.StatusMethodNotAllowed)
		return
	}
	h.Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusBadRequest)
	_, _ = w.Write([]byte(`{"error":"invalid_request"}` + "\n"))
}
