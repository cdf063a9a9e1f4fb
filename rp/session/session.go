package session

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"math"
	"time"
)

// Session is the record of one logged-in browser: who the user is, which
// provider session it belongs to, and the tokens the relying party holds.
//
// All text fields are plain Go strings. A Session returned by a Store may
// share string memory with other values returned by the same Load; strings
// are immutable, so this is always safe to keep.
type Session struct {
	// ID is the session's own identifier: 256 random bits, base64url
	// encoded (see [NewID]). A new ID is made at every login so that an ID
	// known before login is worthless after it (session fixation).
	ID string

	// Issuer is the provider's issuer identifier ("iss").
	Issuer string
	// Subject is the end-user's identifier at the issuer ("sub").
	Subject string
	// SID is the provider's session identifier (the "sid" claim,
	// OpenID Connect Front-Channel Logout 1.0 §3 and Back-Channel Logout
	// 1.0 §2.1); empty when the provider sends none.
	SID string

	// IDToken is the raw ID token, needed at logout as id_token_hint
	// (OpenID Connect RP-Initiated Logout 1.0 §2). The cookie store fills it
	// only on requests that carry its path-scoped ID-token cookie; see
	// [CookieOptions.IDTokenPath].
	IDToken string

	// AccessToken, TokenType and RefreshToken are the token endpoint's
	// answer (RFC 6749 §5.1). RefreshToken may be empty.
	AccessToken  string
	TokenType    string
	RefreshToken string
	// Expiry is when the access token expires; the zero Time means unknown.
	Expiry time.Time
	// TokenIssued is when the current access token was obtained; with
	// Expiry it gives the token's lifetime. The zero Time means unknown.
	TokenIssued time.Time

	// ClaimsJSON is the raw JSON object of the verified ID-token claims.
	// It is a string rather than a []byte so that loading a session does
	// not copy it: decode it with json.Unmarshal([]byte(s.ClaimsJSON), &v).
	ClaimsJSON string
	// UserInfoJSON is the raw JSON object of the UserInfo response
	// (OpenID Connect Core 1.0 §5.3.2) when the relying party keeps it;
	// usually empty.
	UserInfoJSON string

	// CreatedAt is the login time. The absolute session lifetime
	// ([CookieOptions.MaxAge]) counts from here.
	CreatedAt time.Time
	// LastSeen is when the session was last used; an idle timeout counts
	// from here.
	LastSeen time.Time
}

// NewID returns a new random session ID: 32 bytes from crypto/rand encoded
// as unpadded base64url (43 characters).
func NewID() (string, error) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("session: new id: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b[:]), nil
}

// validID reports whether id looks like a session ID: 16 to 128 characters
// of the base64url alphabet. Stores check it before using an ID from a
// cookie, so arbitrary junk never reaches a backend.
func validID(id string) bool {
	if len(id) < 16 || len(id) > 128 {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// The binary record, version 1:
//
//	version   byte (1)
//	ID, Issuer, Subject, SID, IDToken, AccessToken, TokenType,
//	RefreshToken, ClaimsJSON, UserInfoJSON
//	          each: uvarint length, then the bytes
//	Expiry, TokenIssued, CreatedAt, LastSeen
//	          each: uvarint; 0 is the zero Time, otherwise
//	          zigzag(Unix nanoseconds) + 1
//
// Varints must be minimal and nothing may follow the last field, so every
// session has exactly one encoding.
const (
	recordVersion = 1
	// maxRecordSize bounds an encoded record (1 MiB).
	maxRecordSize = 1 << 20
	numStrings    = 10
	numTimes      = 4
)

func (s *Session) strings() [numStrings]string {
	return [numStrings]string{s.ID, s.Issuer, s.Subject, s.SID, s.IDToken,
		s.AccessToken, s.TokenType, s.RefreshToken, s.ClaimsJSON, s.UserInfoJSON}
}

func (s *Session) stringPtrs() [numStrings]*string {
	return [numStrings]*string{&s.ID, &s.Issuer, &s.Subject, &s.SID, &s.IDToken,
		&s.AccessToken, &s.TokenType, &s.RefreshToken, &s.ClaimsJSON, &s.UserInfoJSON}
}

// binarySize is an upper bound of the encoded size.
func (s *Session) binarySize() int {
	n := 1 + numTimes*binary.MaxVarintLen64
	for _, f := range s.strings() {
		n += binary.MaxVarintLen64 + len(f)
	}
	return n
}

// MarshalBinary encodes the session in its compact versioned binary form.
// It fails for a time outside the years 1678–2262 (not representable in
// Unix nanoseconds) and for an encoding larger than 1 MiB (ErrTooLarge).
func (s *Session) MarshalBinary() ([]byte, error) {
	return s.AppendBinary(make([]byte, 0, s.binarySize()))
}

// AppendBinary appends the encoding of [Session.MarshalBinary] to b.
func (s *Session) AppendBinary(b []byte) ([]byte, error) {
	start := len(b)
	b = append(b, recordVersion)
	for _, f := range s.strings() {
		b = binary.AppendUvarint(b, uint64(len(f)))
		b = append(b, f...)
	}
	for _, t := range [numTimes]time.Time{s.Expiry, s.TokenIssued, s.CreatedAt, s.LastSeen} {
		v, ok := encodeTime(t)
		if !ok {
			return b[:start], fmt.Errorf("session: encode: time %v out of range", t)
		}
		b = binary.AppendUvarint(b, v)
	}
	if len(b)-start > maxRecordSize {
		return b[:start], fmt.Errorf("session: encode: record of %d bytes: %w", len(b)-start, ErrTooLarge)
	}
	return b, nil
}

// UnmarshalBinary decodes a record made by [Session.MarshalBinary]. A
// truncated, oversized, non-canonical or otherwise malformed record fails
// with an error wrapping ErrInvalid and leaves s unchanged. The decoded
// strings are copied from data (all of them share one allocation).
func (s *Session) UnmarshalBinary(data []byte) error {
	if len(data) > maxRecordSize {
		return fmt.Errorf("session: decode: record of %d bytes: %w", len(data), ErrInvalid)
	}
	var tmp Session
	if !decodeRecord(string(data), &tmp) {
		return fmt.Errorf("session: decode: malformed record: %w", ErrInvalid)
	}
	*s = tmp
	return nil
}

func encodeTime(t time.Time) (uint64, bool) {
	if t.IsZero() {
		return 0, true
	}
	n := t.UnixNano()
	if n == math.MinInt64 || !time.Unix(0, n).Equal(t) {
		return 0, false
	}
	return uint64(n<<1^n>>63) + 1, true
}

func decodeTime(v uint64) time.Time {
	if v == 0 {
		return time.Time{}
	}
	v--
	n := int64(v>>1) ^ -int64(v&1)
	return time.Unix(0, n).UTC()
}

// decodeRecord decodes rec into s, slicing every string field out of rec
// (no allocation). It reports false for any malformed input.
func decodeRecord(rec string, s *Session) bool {
	if len(rec) == 0 || len(rec) > maxRecordSize || rec[0] != recordVersion {
		return false
	}
	i := 1
	for _, p := range s.stringPtrs() {
		n, k := uvarint(rec[i:])
		if k <= 0 || n > uint64(len(rec)-i-k) {
			return false
		}
		i += k
		*p = rec[i : i+int(n)]
		i += int(n)
	}
	for _, p := range [numTimes]*time.Time{&s.Expiry, &s.TokenIssued, &s.CreatedAt, &s.LastSeen} {
		v, k := uvarint(rec[i:])
		if k <= 0 {
			return false
		}
		i += k
		*p = decodeTime(v)
	}
	return i == len(rec)
}

// uvarint decodes a minimal unsigned varint from the start of s. It returns
// the value and the number of bytes read, or k <= 0 when s is truncated,
// the value overflows 64 bits or the encoding is not minimal.
func uvarint(s string) (v uint64, k int) {
	var shift uint
	for i := 0; i < len(s) && i < binary.MaxVarintLen64; i++ {
		c := s[i]
		if c < 0x80 {
			if i == binary.MaxVarintLen64-1 && c > 1 {
				return 0, -1 // overflow
			}
			if c == 0 && i > 0 {
				return 0, -1 // not minimal
			}
			return v | uint64(c)<<shift, i + 1
		}
		v |= uint64(c&0x7f) << shift
		shift += 7
	}
	return 0, 0
}

// appendString appends a uvarint length and the bytes of f.
func appendString(b []byte, f string) []byte {
	b = binary.AppendUvarint(b, uint64(len(f)))
	return append(b, f...)
}

// cutString reads a field written by appendString from the start of s.
func cutString(s string) (field, rest string, ok bool) {
	n, k := uvarint(s)
	if k <= 0 || n > uint64(len(s)-k) {
		return "", "", false
	}
	return s[k : k+int(n)], s[k+int(n):], true
}
