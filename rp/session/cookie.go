package session

import (
	"encoding/base64"
	"fmt"
	"net/http"
	"time"
)

// CookieStore is a stateless [Store]: the whole session, sealed with a
// [Codec] (AES-256-GCM), is the cookie. Nothing is kept on the server, so
// any replica holding the secrets can load it; the cost is that a session
// cannot be ended from the server side except by a revocation list
// ([Revocations]) checked on each request.
//
// The sealed record is split into chunks of at most 3800 bytes named Name,
// Name.1, Name.2 …; when there are several, the first carries their count
// ("2.…"), so stale chunks from an older, bigger session are ignored. Each
// cookie's name is its GCM additional data, so cookies cannot be swapped
// for one another, and chunks that are missing, reordered or altered make
// the whole value fail to open.
//
// The raw ID token travels in a second sealed value (cookies Name_idt …)
// with Path [CookieOptions.IDTokenPath], bound to the session ID, so it is
// sent only where logout needs it.
//
// Load makes two allocations (the session and one string that every field
// is sliced from) and no others: it parses the Cookie header once, decodes
// base64 into a pooled buffer and decrypts in place.
type CookieStore struct {
	codec    *Codec
	opt      CookieOptions
	err      error  // from CookieOptions.Validate, returned by every method
	mainAAD  []byte // GCM additional data of the session cookie: its name
	idtName  string // name of the ID-token cookie
	idtAAD   []byte
	maxChunk int
}

// NewCookieStore returns a CookieStore that seals with codec. Zero fields
// of opt take their defaults. If opt is invalid ([CookieOptions.Validate])
// or codec is nil, every method of the store returns that error; call
// Validate first to catch it at start-up.
func NewCookieStore(codec *Codec, opt CookieOptions) *CookieStore {
	err := opt.Validate()
	if err == nil && codec == nil {
		err = fmt.Errorf("session: cookie store: nil codec")
	}
	opt = opt.withDefaults()
	idt := opt.Name + idTokenSuffix
	return &CookieStore{
		codec:    codec,
		opt:      opt,
		err:      err,
		mainAAD:  []byte(opt.Name),
		idtName:  idt,
		idtAAD:   []byte(idt),
		maxChunk: opt.MaxChunks,
	}
}

// Load returns the session sealed in the request's cookies, or nil when
// they are missing, expired, tampered with or sealed under an unknown key.
// Session.IDToken is set only when the request carries the ID-token cookie
// (that is, under CookieOptions.IDTokenPath) and it belongs to this
// session.
func (st *CookieStore) Load(r *http.Request) (*Session, error) {
	if st.err != nil {
		return nil, st.err
	}
	var slots cookieSlots
	scanCookies(r.Header, st.opt.Name, &slots)
	rec, ok := st.open(&slots.main, slots.mainSet, st.mainAAD)
	if !ok {
		return nil, nil
	}
	s := new(Session)
	if !decodeRecord(rec, s) || s.ID == "" {
		return nil, nil
	}
	if !st.opt.Now().Before(s.CreatedAt.Add(st.opt.MaxAge)) {
		return nil, nil
	}
	if slots.idtSet&1 != 0 {
		if v, ok := st.open(&slots.idt, slots.idtSet, st.idtAAD); ok {
			if id, tok, ok := cutString(v); ok && id == s.ID {
				if tok, rest, ok := cutString(tok); ok && rest == "" {
					s.IDToken = tok
				}
			}
		}
	}
	return s, nil
}

// open joins, decodes and opens one chunked sealed value and returns the
// plaintext as a string (the only allocation).
func (st *CookieStore) open(vals *[MaxChunksLimit]string, set uint32, aad []byte) (string, bool) {
	parts, n, total, ok := joinedChunks(vals, set, st.maxChunk)
	if !ok {
		return "", false
	}
	p := getBuf(total * 3 / 4)
	defer putBuf(p)
	buf := *p
	off := 0
	for i := range n {
		k, ok := decodeBase64(buf[off:], parts[i])
		if !ok {
			return "", false
		}
		off += k
	}
	pt, ok := st.codec.openInPlace(buf[:off], aad)
	if !ok {
		return "", false
	}
	return string(pt), true
}

// Save seals s into the session cookie(s) and, when s.IDToken is set, the
// ID token into the ID-token cookie(s). A Save without an ID token leaves
// an ID-token cookie the browser already holds in place. Cookies expire
// when the session's absolute lifetime ends; saving a session whose
// lifetime has already ended deletes its cookies instead. Chunks left from
// a bigger earlier session are expired. Save fails with ErrTooLarge,
// before writing any header, when a value needs more than MaxChunks
// cookies. r may be nil; then every unused chunk name is expired.
func (st *CookieStore) Save(w http.ResponseWriter, r *http.Request, s *Session) error {
	if st.err != nil {
		return st.err
	}
	if s == nil || s.ID == "" {
		return fmt.Errorf("session: cookie store: save: session without ID")
	}
	now := st.opt.Now()
	fillTimes(s, now)
	expires := s.CreatedAt.Add(st.opt.MaxAge)
	if !expires.After(now) {
		return st.Delete(w, r, s)
	}

	rec := *s
	rec.IDToken = ""
	text, err := st.sealRecord(&rec)
	if err != nil {
		return err
	}
	if n := chunkCount(text); n > st.maxChunk {
		return fmt.Errorf("session: cookie store: save: session needs %d cookies, MaxChunks is %d: %w", n, st.maxChunk, ErrTooLarge)
	}
	var idtText string
	if s.IDToken != "" {
		pt := make([]byte, 0, len(s.ID)+len(s.IDToken)+2*10)
		pt = appendString(pt, s.ID)
		pt = appendString(pt, s.IDToken)
		idtText, err = st.codec.Seal(st.idtName, pt)
		if err != nil {
			return err
		}
		if n := chunkCount(idtText); n > st.maxChunk {
			return fmt.Errorf("session: cookie store: save: ID token needs %d cookies, MaxChunks is %d: %w", n, st.maxChunk, ErrTooLarge)
		}
	}

	h := w.Header()
	maxAge := maxAgeSeconds(now, expires)
	parts := splitChunks(text)
	for i, p := range parts {
		setCookie(h, chunkName(st.opt.Name, i), p, st.opt.Path, expires, maxAge, st.opt.Secure)
	}
	// Expire chunks beyond the new count that the browser holds.
	var slots cookieSlots
	if r != nil {
		scanCookies(r.Header, st.opt.Name, &slots)
	} else {
		slots.mainSet = 1<<st.maxChunk - 1
	}
	for i := len(parts); i < MaxChunksLimit; i++ {
		if slots.mainSet&(1<<i) != 0 {
			setCookie(h, chunkName(st.opt.Name, i), "", st.opt.Path, expires, -1, st.opt.Secure)
		}
	}
	if idtText != "" {
		parts := splitChunks(idtText)
		for i, p := range parts {
			setCookie(h, chunkName(st.idtName, i), p, st.opt.IDTokenPath, expires, maxAge, st.opt.Secure)
		}
		// The ID-token cookies are not sent here; expire every unused name.
		for i := len(parts); i < st.maxChunk; i++ {
			setCookie(h, chunkName(st.idtName, i), "", st.opt.IDTokenPath, expires, -1, st.opt.Secure)
		}
	}
	return nil
}

// sealRecord encodes and seals rec under the session cookie's name and
// returns the base64url text.
func (st *CookieStore) sealRecord(rec *Session) (string, error) {
	p := getBuf(sealOverhead + rec.binarySize())
	defer putBuf(p)
	buf, err := rec.AppendBinary((*p)[:sealHeader])
	if err != nil {
		return "", err
	}
	raw, err := st.codec.sealInPlace(buf, st.mainAAD)
	if err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(raw), nil
}

// Delete expires every cookie the store uses: the session cookie, all its
// chunk names and all ID-token cookie names (at their own path). s is not
// needed and may be nil.
func (st *CookieStore) Delete(w http.ResponseWriter, r *http.Request, s *Session) error {
	if st.err != nil {
		return st.err
	}
	var slots cookieSlots
	if r != nil {
		scanCookies(r.Header, st.opt.Name, &slots)
	}
	slots.mainSet |= 1<<st.maxChunk - 1
	slots.idtSet |= 1<<st.maxChunk - 1
	h := w.Header()
	for i := range MaxChunksLimit {
		if slots.mainSet&(1<<i) != 0 {
			setCookie(h, chunkName(st.opt.Name, i), "", st.opt.Path, time.Time{}, -1, st.opt.Secure)
		}
	}
	for i := range MaxChunksLimit {
		if slots.idtSet&(1<<i) != 0 {
			setCookie(h, chunkName(st.idtName, i), "", st.opt.IDTokenPath, time.Time{}, -1, st.opt.Secure)
		}
	}
	return nil
}

// fillTimes sets a zero CreatedAt or LastSeen to now.
func fillTimes(s *Session, now time.Time) {
	if s.CreatedAt.IsZero() {
		s.CreatedAt = now
	}
	if s.LastSeen.IsZero() {
		s.LastSeen = now
	}
}
