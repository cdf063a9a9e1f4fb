package userinfo

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/oidcrp/oidcrp/userinfo/internal/numdate"
)

// Info is a verified userinfo response: the standard claims of OpenID
// Connect Core 1.0 §5.1, typed, and every claim as sent in Raw.
//
// Claims the provider left out are zero values. Decoding tolerates what
// real providers send: email_verified and phone_number_verified as the
// strings "true" or "false", updated_at as an integer, a float or a
// numeric string, null for any claim, and an address given as a plain
// string (taken as its formatted form). Other type mismatches in standard
// claims make the response invalid.
type Info struct {
	// Subject is "sub", the end-user's identifier at the issuer. It always
	// equals the subject Fetch was given.
	Subject string
	// Name is the full name.
	Name string
	// GivenName is the given (first) name.
	GivenName string
	// FamilyName is the surname.
	FamilyName string
	// MiddleName is the middle name.
	MiddleName string
	// Nickname is the casual name.
	Nickname string
	// PreferredUsername is the shorthand name the user wishes to be
	// referred to by. It is not unique and MUST NOT be used as a key.
	PreferredUsername string
	// Profile is the URL of the profile page.
	Profile string
	// Picture is the URL of a profile picture.
	Picture string
	// Website is the URL of the user's web page or blog.
	Website string
	// Email is the preferred e-mail address. It is not unique and MUST
	// NOT be used as a key; it is not verified unless EmailVerified.
	Email string
	// EmailVerified reports whether the provider verified Email.
	EmailVerified bool
	// Gender is the gender, e.g. "female" or "male".
	Gender string
	// Birthdate is the birthday as YYYY-MM-DD, 0000-MM-DD or YYYY.
	Birthdate string
	// Zoneinfo is the time zone, e.g. "Europe/Paris".
	Zoneinfo string
	// Locale is a BCP 47 language tag, e.g. "en-US".
	Locale string
	// PhoneNumber is the preferred telephone number.
	PhoneNumber string
	// PhoneNumberVerified reports whether the provider verified
	// PhoneNumber.
	PhoneNumberVerified bool
	// Address is the postal address (§5.1.1), nil when absent.
	Address *Address
	// UpdatedAt is when the information was last updated; zero when
	// absent.
	UpdatedAt time.Time

	// Signed reports that the response was a JWS verified with the
	// provider's keys (application/jwt) rather than plain JSON.
	Signed bool
	// Raw is the JSON object of all claims, as sent (the payload of a
	// signed response).
	Raw json.RawMessage
}

// Address is the address claim (OpenID Connect Core 1.0 §5.1.1).
type Address struct {
	// Formatted is the full address for display, possibly multi-line.
	Formatted string `json:"formatted,omitempty"`
	// StreetAddress is the street, house number, etc., possibly
	// multi-line.
	StreetAddress string `json:"street_address,omitempty"`
	// Locality is the city.
	Locality string `json:"locality,omitempty"`
	// Region is the state, province or region.
	Region string `json:"region,omitempty"`
	// PostalCode is the zip or postal code.
	PostalCode string `json:"postal_code,omitempty"`
	// Country is the country name.
	Country string `json:"country,omitempty"`
}

// Claims decodes every claim of the response (Raw) into v, like
// json.Unmarshal, so that an application can read claims of its own.
func (i *Info) Claims(v any) error {
	if len(i.Raw) == 0 {
		return errors.New("userinfo: no claims")
	}
	if err := json.Unmarshal(i.Raw, v); err != nil {
		return fmt.Errorf("userinfo: decode claims: %w", err)
	}
	return nil
}

// Map returns every claim of the response as a map (numbers as float64).
func (i *Info) Map() (map[string]any, error) {
	var m map[string]any
	if err := i.Claims(&m); err != nil {
		return nil, err
	}
	return m, nil
}

// ParseInfo decodes a userinfo JSON object (the body of a plain response
// or the payload of a signed one) into an Info. It checks that the object
// has a non-empty string "sub" and that the standard claims have their
// types, with the tolerances described at [Info]; it does not compare the
// subject with anything. Errors wrap [ErrInvalidResponse].
func ParseInfo(data []byte) (*Info, error) {
	// Decoding to map[string]any first makes sure Claims and Map work on
	// whatever is accepted (no number out of float64's range, say).
	var all map[string]any
	if err := json.Unmarshal(data, &all); err != nil || all == nil {
		return nil, fmt.Errorf("%w: not a JSON object", ErrInvalidResponse)
	}
	var members map[string]json.RawMessage
	if err := json.Unmarshal(data, &members); err != nil {
		return nil, fmt.Errorf("%w: not a JSON object", ErrInvalidResponse)
	}
	info := &Info{Raw: json.RawMessage(bytes.Clone(data))}
	strs := []struct {
		name string
		dst  *string
	}{
		{"sub", &info.Subject}, {"name", &info.Name}, {"given_name", &info.GivenName},
		{"family_name", &info.FamilyName}, {"middle_name", &info.MiddleName}, {"nickname", &info.Nickname},
		{"preferred_username", &info.PreferredUsername}, {"profile", &info.Profile}, {"picture", &info.Picture},
		{"website", &info.Website}, {"email", &info.Email}, {"gender", &info.Gender},
		{"birthdate", &info.Birthdate}, {"zoneinfo", &info.Zoneinfo}, {"locale", &info.Locale},
		{"phone_number", &info.PhoneNumber},
	}
	for _, s := range strs {
		raw, ok := members[s.name]
		if !ok {
			continue
		}
		if err := decodeString(raw, s.dst); err != nil {
			return nil, fmt.Errorf("%w: claim %s: %w", ErrInvalidResponse, s.name, err)
		}
	}
	if info.Subject == "" {
		return nil, fmt.Errorf("%w: no \"sub\" claim", ErrInvalidResponse)
	}
	bools := []struct {
		name string
		dst  *bool
	}{{"email_verified", &info.EmailVerified}, {"phone_number_verified", &info.PhoneNumberVerified}}
	for _, b := range bools {
		raw, ok := members[b.name]
		if !ok {
			continue
		}
		if err := decodeBool(raw, b.dst); err != nil {
			return nil, fmt.Errorf("%w: claim %s: %w", ErrInvalidResponse, b.name, err)
		}
	}
	if raw, ok := members["address"]; ok {
		addr, err := decodeAddress(raw)
		if err != nil {
			return nil, fmt.Errorf("%w: claim address: %w", ErrInvalidResponse, err)
		}
		info.Address = addr
	}
	if raw, ok := members["updated_at"]; ok {
		t, err := numdate.Parse(raw)
		if err != nil {
			return nil, fmt.Errorf("%w: claim updated_at: %w", ErrInvalidResponse, err)
		}
		info.UpdatedAt = t
	}
	return info, nil
}

func isNull(raw json.RawMessage) bool { return string(bytes.TrimSpace(raw)) == "null" }

// decodeString accepts a JSON string or null.
func decodeString(raw json.RawMessage, dst *string) error {
	if isNull(raw) {
		return nil
	}
	if err := json.Unmarshal(raw, dst); err != nil {
		return errors.New("not a string")
	}
	return nil
}

// decodeBool accepts true, false, "true", "false" (any case) and null.
func decodeBool(raw json.RawMessage, dst *bool) error {
	if isNull(raw) {
		return nil
	}
	if err := json.Unmarshal(raw, dst); err == nil {
		return nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		switch strings.ToLower(strings.TrimSpace(s)) {
		case "true":
			*dst = true
			return nil
		case "false":
			*dst = false
			return nil
		}
	}
	return errors.New("not a boolean")
}

// decodeAddress accepts an object of strings, a string (the formatted
// address) and null.
func decodeAddress(raw json.RawMessage) (*Address, error) {
	if isNull(raw) {
		return nil, nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		return &Address{Formatted: s}, nil
	}
	var members map[string]json.RawMessage
	if err := json.Unmarshal(raw, &members); err != nil || members == nil {
		return nil, errors.New("not an object")
	}
	a := &Address{}
	for _, f := range []struct {
		name string
		dst  *string
	}{
		{"formatted", &a.Formatted}, {"street_address", &a.StreetAddress}, {"locality", &a.Locality},
		{"region", &a.Region}, {"postal_code", &a.PostalCode}, {"country", &a.Country},
	} {
		if v, ok := members[f.name]; ok {
			if err := decodeString(v, f.dst); err != nil {
				return nil, fmt.Errorf("%s: %w", f.name, err)
			}
		}
	}
	return a, nil
}
