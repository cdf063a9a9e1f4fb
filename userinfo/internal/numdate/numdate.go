// Package numdate decodes JWT NumericDate values (RFC 7519 §2) the way
// providers really send them: integers, floats in exponent form
// (1.795452296e+09, as Ory Hydra's verifiable credentials carry), numeric
// strings and, for OpenID Connect's updated_at, RFC 3339 strings.
package numdate

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"strconv"
	"strings"
	"time"
)

// maxSeconds bounds accepted values to the years -6000 … 10000, so that
// every result is a sensible time.Time.
const maxSeconds = 253402300800

// ErrInvalid is returned for values that are not a date.
var ErrInvalid = errors.New("not a number of seconds since the epoch")

// Parse decodes raw, a JSON value: a number of seconds since the epoch
// (integer, fraction or exponent form), the same as a string, an RFC 3339
// string, or null (the zero time). Results are in UTC.
func Parse(raw json.RawMessage) (time.Time, error) {
	raw = bytes.TrimSpace(raw)
	if string(raw) == "null" {
		return time.Time{}, nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		s = strings.TrimSpace(s)
		if t, err := time.Parse(time.RFC3339, s); err == nil {
			if t.Unix() < -maxSeconds || t.Unix() > maxSeconds {
				return time.Time{}, ErrInvalid
			}
			return t.UTC(), nil
		}
		return Seconds(s)
	}
	var n json.Number
	if err := json.Unmarshal(raw, &n); err != nil {
		return time.Time{}, ErrInvalid
	}
	return Seconds(n.String())
}

// Seconds parses a decimal number of seconds since the epoch.
func Seconds(s string) (time.Time, error) {
	if i, err := strconv.ParseInt(s, 10, 64); err == nil {
		if i < -maxSeconds || i > maxSeconds {
			return time.Time{}, ErrInvalid
		}
		return time.Unix(i, 0).UTC(), nil
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) || f < -maxSeconds || f > maxSeconds {
		return time.Time{}, ErrInvalid
	}
	sec, frac := math.Modf(f)
	return time.Unix(int64(sec), int64(math.Round(frac*1e9))).UTC(), nil
}
