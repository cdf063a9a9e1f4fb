package userinfo_test

import (
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/oidcrp/oidcrp/userinfo"
)

func TestParseInfo(t *testing.T) {
	full := `{
		"sub": "248289761001", "name": "Jane Doe", "given_name": "Jane", "family_name": "Doe",
		"middle_name": "Q", "nickname": "JD", "preferred_username": "j.doe",
		"profile": "https://p.example/j", "picture": "https://p.example/j.jpg", "website": "https://j.example",
		"email": "janedoe@example.com", "email_verified": true, "gender": "female", "birthdate": "0000-10-31",
		"zoneinfo": "Europe/Paris", "locale": "fr-FR", "phone_number": "+1 (425) 555-1212", "phone_number_verified": false,
		"address": {"formatted": "1 Main St\nAnytown", "street_address": "1 Main St", "locality": "Anytown",
			"region": "CA", "postal_code": "12345", "country": "US"},
		"updated_at": 1311280970, "groups": ["admin"]
	}`
	tests := []struct {
		name    string
		in      string
		want    *userinfo.Info // Raw is not compared
		wantErr bool
	}{
		{"every standard claim", full, &userinfo.Info{
			Subject: "248289761001", Name: "Jane Doe", GivenName: "Jane", FamilyName: "Doe", MiddleName: "Q",
			Nickname: "JD", PreferredUsername: "j.doe", Profile: "https://p.example/j", Picture: "https://p.example/j.jpg",
			Website: "https://j.example", Email: "janedoe@example.com", EmailVerified: true, Gender: "female",
			Birthdate: "0000-10-31", Zoneinfo: "Europe/Paris", Locale: "fr-FR", PhoneNumber: "+1 (425) 555-1212",
			Address: &userinfo.Address{Formatted: "1 Main St\nAnytown", StreetAddress: "1 Main St", Locality: "Anytown",
				Region: "CA", PostalCode: "12345", Country: "US"},
			UpdatedAt: time.Unix(1311280970, 0).UTC(),
		}, false},
		{"verified flags as strings", `{"sub":"a","email_verified":"TRUE","phone_number_verified":"true"}`,
			&userinfo.Info{Subject: "a", EmailVerified: true, PhoneNumberVerified: true}, false},
		{"verified flag false string", `{"sub":"a","email_verified":"false"}`, &userinfo.Info{Subject: "a"}, false},
		{"updated_at as a float in exponent form", `{"sub":"a","updated_at":1.795452296e+09}`,
			&userinfo.Info{Subject: "a", UpdatedAt: time.Unix(1795452296, 0).UTC()}, false},
		{"updated_at with a fraction", `{"sub":"a","updated_at":1700000000.5}`,
			&userinfo.Info{Subject: "a", UpdatedAt: time.Unix(1700000000, 5e8).UTC()}, false},
		{"updated_at as a numeric string", `{"sub":"a","updated_at":"1700000000"}`,
			&userinfo.Info{Subject: "a", UpdatedAt: time.Unix(1700000000, 0).UTC()}, false},
		{"updated_at as RFC 3339", `{"sub":"a","updated_at":"2023-11-14T22:13:20Z"}`,
			&userinfo.Info{Subject: "a", UpdatedAt: time.Unix(1700000000, 0).UTC()}, false},
		{"nulls", `{"sub":"a","name":null,"email_verified":null,"address":null,"updated_at":null}`,
			&userinfo.Info{Subject: "a"}, false},
		{"address as a string", `{"sub":"a","address":"1 Main St"}`,
			&userinfo.Info{Subject: "a", Address: &userinfo.Address{Formatted: "1 Main St"}}, false},
		{"unknown claims are kept in Raw only", `{"sub":"a","x":{"y":[1,2]}}`, &userinfo.Info{Subject: "a"}, false},
		{"no sub", `{"name":"a"}`, nil, true},
		{"empty sub", `{"sub":""}`, nil, true},
		{"null sub", `{"sub":null}`, nil, true},
		{"sub a number", `{"sub":1}`, nil, true},
		{"email a number", `{"sub":"a","email":1}`, nil, true},
		{"email_verified a number", `{"sub":"a","email_verified":1}`, nil, true},
		{"email_verified another string", `{"sub":"a","email_verified":"yes"}`, nil, true},
		{"updated_at garbage", `{"sub":"a","updated_at":"soon"}`, nil, true},
		{"updated_at out of range", `{"sub":"a","updated_at":1e300}`, nil, true},
		{"address a number", `{"sub":"a","address":5}`, nil, true},
		{"address member a number", `{"sub":"a","address":{"country":5}}`, nil, true},
		{"array", `[]`, nil, true},
		{"null", `null`, nil, true},
		{"string", `"sub"`, nil, true},
		{"truncated", `{"sub":"a"`, nil, true},
		{"empty", ``, nil, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := userinfo.ParseInfo([]byte(tc.in))
			if tc.wantErr {
				if err == nil || !errors.Is(err, userinfo.ErrInvalidResponse) || got != nil {
					t.Fatalf("ParseInfo = %+v, %v; want ErrInvalidResponse", got, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if string(got.Raw) != tc.in {
				t.Errorf("Raw = %s, want the input", got.Raw)
			}
			got.Raw = nil
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("ParseInfo =\n%+v\nwant\n%+v", got, tc.want)
			}
		})
	}
}

func TestInfoClaims(t *testing.T) {
	info, err := userinfo.ParseInfo([]byte(`{"sub":"a","groups":["x","y"],"n":3}`))
	if err != nil {
		t.Fatal(err)
	}
	var c struct {
		Groups []string `json:"groups"`
		N      int      `json:"n"`
	}
	if err := info.Claims(&c); err != nil || len(c.Groups) != 2 || c.N != 3 {
		t.Errorf("Claims = %+v, %v", c, err)
	}
	if err := info.Claims(&struct{ N string }{}); err == nil {
		t.Error("Claims into a mismatched type succeeded")
	}
	if err := (&userinfo.Info{}).Claims(&c); err == nil {
		t.Error("Claims without Raw succeeded")
	}
	m, err := info.Map()
	if err != nil || m["n"] != 3.0 || m["sub"] != "a" {
		t.Errorf("Map = %v, %v", m, err)
	}
}
