package logout

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"time"
)

// BackchannelLogoutEvent is the member of a logout token's "events" claim
// that declares it a logout token (OpenID Connect Back-Channel Logout 1.0
// §2.4).
const BackchannelLogoutEvent = "http://schemas.openid.net/event/backchannel-logout"

// Claims are the claims of a verified logout token (OpenID Connect
// Back-Channel Logout 1.0 §2.4). They say who is logged out: with SID, the
// provider session SID of Subject (or of any subject, when Subject is
// empty); without SID, every session of Subject at this issuer.
type Claims struct {
	// Issuer is "iss", the provider's issuer.
	Issuer string
	// Subject is "sub", the logged-out user; empty when the token has none
	// (Ory Hydra sends none).
	Subject string
	// SID is "sid", the provider's session ID; empty when the token has
	// none.
	SID string
	// JTI is "jti", the token's unique identifier.
	JTI string
	// Audience is "aud"; it contains the client ID.
	Audience []string
	// IssuedAt is "iat".
	IssuedAt time.Time
	// Expiry is "exp"; zero when the token has none.
	Expiry time.Time
	// Raw holds every claim of the token as decoded by encoding/json
	// (numbers are float64), including those not understood, which
	// §2.4 says to ignore.
	Raw map[string]any
}

// maxNumericDate bounds NumericDate values (the end of year 9999), so
// that converting them to a time cannot overflow.
const maxNumericDate = 253402300799

// rawClaims is a token payload split into its members.
type rawClaims map[string]json.RawMessage

// decodeClaims splits payload, which must be a JSON object.
func decodeClaims(payload []byte) (rawClaims, error) {
	var m rawClaims
	if err := json.Unmarshal(payload, &m); err != nil {
		return nil, fmt.Errorf("payload is not a JSON object: %w", err)
	}
	if m == nil {
		return nil, fmt.Errorf("payload is not a JSON object")
	}
	return m, nil
}

// has reports whether the claim is present, whatever its value.
func (m rawClaims) has(name string) bool {
	_, ok := m[name]
	return ok
}

// str returns the string claim name; "" when it is absent.
func (m rawClaims) str(name string) (string, error) {
	raw, ok := m[name]
	if !ok {
		return "", nil
	}
	var s string
	if !isJSONString(raw) || json.Unmarshal(raw, &s) != nil {
		return "", fmt.Errorf("%w: %q is not a string", ErrMalformed, name)
	}
	return s, nil
}

// audience returns "aud", a string or an array of strings (RFC 7519
// §4.1.3); nil when it is absent.
func (m rawClaims) audience() ([]string, error) {
	raw, ok := m["aud"]
	if !ok {
		return nil, nil
	}
	if isJSONString(raw) {
		var s string
		if err := json.Unmarshal(raw, &s); err == nil {
			return []string{s}, nil
		}
	} else if t := bytes.TrimSpace(raw); len(t) > 0 && t[0] == '[' {
		var list []string
		if err := json.Unmarshal(raw, &list); err == nil {
			return list, nil
		}
	}
	return nil, fmt.Errorf("%w: \"aud\" is neither a string nor an array of strings", ErrMalformed)
}

// numericDate returns the NumericDate claim name (RFC 7519 §2), which may
// have a fraction; ok is false when it is absent.
func (m rawClaims) numericDate(name string) (t time.Time, ok bool, err error) {
	raw, present := m[name]
	if !present {
		return time.Time{}, false, nil
	}
	var f float64
	if b := bytes.TrimSpace(raw); len(b) == 0 || (b[0] != '-' && (b[0] < '0' || b[0] > '9')) || json.Unmarshal(raw, &f) != nil {
		return time.Time{}, false, fmt.Errorf("%w: %q is not a number", ErrMalformed, name)
	}
	if f < 0 || f > maxNumericDate {
		return time.Time{}, false, fmt.Errorf("%w: %q is out of range", ErrMalformed, name)
	}
	sec, frac := math.Modf(f)
	return time.Unix(int64(sec), int64(frac*1e9)).UTC(), true, nil
}

// events checks the "events" claim (§2.4): a JSON object with the
// back-channel logout member, whose value is a JSON object.
func (m rawClaims) events() error {
	raw, ok := m["events"]
	if !ok {
		return fmt.Errorf("%w: no \"events\" claim", ErrEvents)
	}
	var ev map[string]json.RawMessage
	if !isJSONObject(raw) || json.Unmarshal(raw, &ev) != nil {
		return fmt.Errorf("%w: \"events\" is not a JSON object", ErrEvents)
	}
	member, ok := ev[BackchannelLogoutEvent]
	if !ok {
		return fmt.Errorf("%w: \"events\" has no member %q", ErrEvents, BackchannelLogoutEvent)
	}
	var body map[string]json.RawMessage
	if !isJSONObject(member) || json.Unmarshal(member, &body) != nil {
		return fmt.Errorf("%w: the value of %q is not a JSON object", ErrEvents, BackchannelLogoutEvent)
	}
	return nil
}

func isJSONString(raw json.RawMessage) bool {
	t := bytes.TrimSpace(raw)
	return len(t) > 0 && t[0] == '"'
}

func isJSONObject(raw json.RawMessage) bool {
	t := bytes.TrimSpace(raw)
	return len(t) > 0 && t[0] == '{'
}
