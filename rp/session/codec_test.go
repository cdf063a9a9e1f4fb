package session

import (
	"bytes"
	"encoding/base64"
	"errors"
	"strings"
	"testing"
)

func TestNewCodecRejects(t *testing.T) {
	tests := []struct {
		name    string
		secrets [][]byte
	}{
		{name: "no secret", secrets: nil},
		{name: "short secret", secrets: [][]byte{make([]byte, 31)}},
		{name: "short second secret", secrets: [][]byte{secret(1), []byte("short")}},
		{name: "empty secret", secrets: [][]byte{{}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if c, err := NewCodec(tc.secrets...); err == nil {
				t.Fatalf("NewCodec succeeded: %v", c)
			}
		})
	}
	t.Run("duplicate secret is fine", func(t *testing.T) {
		c := mustCodec(t, secret(1), secret(1))
		if len(c.keys) != 1 {
			t.Errorf("keys = %d, want 1", len(c.keys))
		}
	})
}

func TestCodecRoundTrip(t *testing.T) {
	c := mustCodec(t, secret(1))
	for _, pt := range [][]byte{{}, []byte("x"), bytes.Repeat([]byte("token"), 1000)} {
		sealed, err := c.Seal("cookie", pt)
		if err != nil {
			t.Fatal(err)
		}
		if strings.ContainsAny(sealed, "+/=") {
			t.Errorf("sealed text %q is not unpadded base64url", sealed)
		}
		got, err := c.Open("cookie", sealed)
		if err != nil || !bytes.Equal(got, pt) {
			t.Fatalf("Open = %q, %v; want %q", got, err, pt)
		}
	}
	a, _ := c.Seal("n", []byte("same"))
	b, _ := c.Seal("n", []byte("same"))
	if a == b {
		t.Error("two seals of the same plaintext are identical (nonce reuse)")
	}
}

func TestCodecRotation(t *testing.T) {
	old := mustCodec(t, secret(1))
	rotated := mustCodec(t, secret(2), secret(1))
	newOnly := mustCodec(t, secret(2))
	fromOld, _ := old.Seal("c", []byte("old"))
	fromRotated, _ := rotated.Seal("c", []byte("new"))
	tests := []struct {
		name   string
		codec  *Codec
		sealed string
		want   string // "" means must fail
	}{
		{name: "rotated opens old", codec: rotated, sealed: fromOld, want: "old"},
		{name: "rotated opens own", codec: rotated, sealed: fromRotated, want: "new"},
		{name: "new key seals: old codec refuses", codec: old, sealed: fromRotated},
		{name: "new key seals: new-only codec opens", codec: newOnly, sealed: fromRotated, want: "new"},
		{name: "removed key fails", codec: newOnly, sealed: fromOld},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.codec.Open("c", tc.sealed)
			if tc.want == "" {
				if !errors.Is(err, ErrInvalid) {
					t.Fatalf("Open = %q, %v; want ErrInvalid", got, err)
				}
				return
			}
			if err != nil || string(got) != tc.want {
				t.Fatalf("Open = %q, %v; want %q", got, err, tc.want)
			}
		})
	}
}

func TestCodecTamper(t *testing.T) {
	c := mustCodec(t, secret(1), secret(2))
	sealed, err := c.Seal("cookie", []byte("a secret access token"))
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := base64.RawURLEncoding.DecodeString(sealed)
	t.Run("every byte, every bit", func(t *testing.T) {
		for i := range raw {
			for bit := range 8 {
				m := bytes.Clone(raw)
				m[i] ^= 1 << bit
				if got, err := c.Open("cookie", base64.RawURLEncoding.EncodeToString(m)); !errors.Is(err, ErrInvalid) {
					t.Fatalf("flipping bit %d of byte %d: Open = %q, %v", bit, i, got, err)
				}
			}
		}
	})
	tests := []struct {
		name   string
		cookie string
		sealed string
	}{
		{name: "other name", cookie: "other", sealed: sealed},
		{name: "name prefix", cookie: "cooki", sealed: sealed},
		{name: "truncated tag", cookie: "cookie", sealed: base64.RawURLEncoding.EncodeToString(raw[:len(raw)-1])},
		{name: "header only", cookie: "cookie", sealed: base64.RawURLEncoding.EncodeToString(raw[:sealHeader])},
		{name: "appended byte", cookie: "cookie", sealed: base64.RawURLEncoding.EncodeToString(append(bytes.Clone(raw), 0))},
		{name: "empty", cookie: "cookie", sealed: ""},
		{name: "not base64", cookie: "cookie", sealed: "!!!!" + sealed},
		{name: "padded", cookie: "cookie", sealed: sealed + "="},
		{name: "foreign key", cookie: "cookie", sealed: func() string { s, _ := mustCodec(t, secret(9)).Seal("cookie", []byte("x")); return s }()},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got, err := c.Open(tc.cookie, tc.sealed); !errors.Is(err, ErrInvalid) {
				t.Fatalf("Open = %q, %v; want ErrInvalid", got, err)
			}
		})
	}
}

func TestCodecKeyIDsDiffer(t *testing.T) {
	c := mustCodec(t, secret(1), secret(2), secret(3))
	seen := map[uint32]bool{}
	for _, k := range c.keys {
		if seen[k.id] {
			t.Fatalf("key id %08x repeated", k.id)
		}
		seen[k.id] = true
	}
	// The key id in a sealed value is the first key's.
	sealed, _ := c.Seal("n", nil)
	raw, _ := base64.RawURLEncoding.DecodeString(sealed)
	if raw[0] != sealVersion || [4]byte(raw[1:5]) != [4]byte{byte(c.keys[0].id >> 24), byte(c.keys[0].id >> 16), byte(c.keys[0].id >> 8), byte(c.keys[0].id)} {
		t.Errorf("header %x does not carry version and first key id %08x", raw[:5], c.keys[0].id)
	}
}
