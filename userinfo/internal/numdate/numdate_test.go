package numdate

import (
	"errors"
	"testing"
	"time"
)

func TestParse(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    time.Time
		wantErr bool
	}{
		{"integer", `1700000000`, time.Unix(1700000000, 0), false},
		{"Ory Hydra's float", `1.795452296e+09`, time.Unix(1795452296, 0), false},
		{"fraction", `1700000000.25`, time.Unix(1700000000, 25e7), false},
		{"negative", `-1`, time.Unix(-1, 0), false},
		{"numeric string", `" 1700000000 "`, time.Unix(1700000000, 0), false},
		{"RFC 3339", `"2023-11-14T22:13:20+01:00"`, time.Unix(1700000000-3600, 0), false},
		{"null", `null`, time.Time{}, false},
		{"huge", `1e300`, time.Time{}, true},
		{"huge integer", `99999999999999999`, time.Time{}, true},
		{"word", `"soon"`, time.Time{}, true},
		{"bool", `true`, time.Time{}, true},
		{"object", `{}`, time.Time{}, true},
		{"empty", ``, time.Time{}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Parse([]byte(tc.in))
			if tc.wantErr {
				if !errors.Is(err, ErrInvalid) {
					t.Errorf("Parse(%s) = %v, %v; want ErrInvalid", tc.in, got, err)
				}
				return
			}
			if err != nil || !got.Equal(tc.want) || (!got.IsZero() && got.Location() != time.UTC) {
				t.Errorf("Parse(%s) = %v, %v; want %v UTC", tc.in, got, err, tc.want)
			}
		})
	}
}
