package loginapp

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"net/http"
)

// csrfCookie names the per-browser secret the form tokens are derived from.
const csrfCookie = "loginapp_csrf"

// csrfField names the hidden form field that carries the token.
const csrfField = "csrf_token"

// csrfToken returns the token for a form about challenge, setting the
// browser's secret cookie first if it has none. The token is
// HMAC-SHA256(key, kind, cookie, challenge): a page on another site can
// neither read the cookie nor compute the token, and a token leaked for one
// challenge is useless for another.
func (h *handler) csrfToken(w http.ResponseWriter, r *http.Request, kind, challenge string) string {
	secret := ""
	if c, err := r.Cookie(csrfCookie); err == nil && validSecret(c.Value) {
		secret = c.Value
	} else {
		b := make([]byte, 32)
		rand.Read(b)
		secret = base64.RawURLEncoding.EncodeToString(b)
		http.SetCookie(w, &http.Cookie{
			Name:     csrfCookie,
			Value:    secret,
			Path:     "/",
			HttpOnly: true,
			Secure:   r.TLS != nil,
			SameSite: http.SameSiteLaxMode,
		})
	}
	return h.csrfMAC(kind, secret, challenge)
}

// csrfOK reports whether the posted token matches the browser's cookie and
// the challenge the form is about.
func (h *handler) csrfOK(r *http.Request, kind, challenge string) bool {
	c, err := r.Cookie(csrfCookie)
	if err != nil || !validSecret(c.Value) {
		return false
	}
	got := r.PostFormValue(csrfField)
	want := h.csrfMAC(kind, c.Value, challenge)
	return hmac.Equal([]byte(got), []byte(want))
}

func (h *handler) csrfMAC(kind, secret, challenge string) string {
	m := hmac.New(sha256.New, h.csrfKey)
	// Length-prefix each part so that no two inputs share an encoding.
	for _, p := range []string{kind, secret, challenge} {
		m.Write(binary.BigEndian.AppendUint32(nil, uint32(len(p))))
		m.Write([]byte(p))
	}
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// validSecret accepts only what csrfToken sets: 32 random bytes, base64url.
func validSecret(s string) bool {
	b, err := base64.RawURLEncoding.DecodeString(s)
	return err == nil && len(b) == 32
}
