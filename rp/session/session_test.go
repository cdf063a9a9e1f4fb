package session

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestBinaryRoundTrip(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 30, 45, 123456789, time.UTC)
	tests := []struct {
		name string
		s    Session
	}{
		{name: "empty", s: Session{}},
		{name: "id only", s: Session{ID: "abc"}},
		{name: "full", s: *sampleSession(t, now)},
		{name: "unicode", s: Session{ID: "ü", Subject: "日本語のユーザー", ClaimsJSON: `{"name":"Zoë 🦊"}`, UserInfoJSON: "\x00\xff invalid utf-8 \xc3"}},
		{name: "epoch and pre-1970 times", s: Session{ID: "x", Expiry: time.Unix(0, 0), CreatedAt: time.Unix(-86400*365*50, 7), LastSeen: time.Unix(0, -1)}},
		{name: "time range ends", s: Session{ID: "x", Expiry: time.Unix(0, 1<<63-1), CreatedAt: time.Unix(0, -(1<<63 - 1))}},
		{name: "long field", s: Session{ID: "x", AccessToken: strings.Repeat("a", 70000)}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b, err := tc.s.MarshalBinary()
			if err != nil {
				t.Fatal(err)
			}
			var got Session
			if err := got.UnmarshalBinary(b); err != nil {
				t.Fatal(err)
			}
			sameSession(t, &got, &tc.s)
			// Canonical: re-encoding gives the same bytes.
			b2, err := got.MarshalBinary()
			if err != nil || !bytes.Equal(b, b2) {
				t.Errorf("re-encoding differs (err %v)", err)
			}
			// AppendBinary appends.
			b3, err := tc.s.AppendBinary([]byte("prefix"))
			if err != nil || string(b3[:6]) != "prefix" || !bytes.Equal(b3[6:], b) {
				t.Errorf("AppendBinary = %q, %v", b3, err)
			}
		})
	}
}

func TestUnmarshalCopiesInput(t *testing.T) {
	s := Session{ID: "id-1", AccessToken: "token"}
	b, _ := s.MarshalBinary()
	var got Session
	if err := got.UnmarshalBinary(b); err != nil {
		t.Fatal(err)
	}
	for i := range b {
		b[i] = 'X'
	}
	if got.ID != "id-1" || got.AccessToken != "token" {
		t.Errorf("decoded strings alias the input: %+v", got)
	}
}

func TestMarshalRejects(t *testing.T) {
	tests := []struct {
		name string
		s    Session
		want error
	}{
		{name: "time before 1678", s: Session{CreatedAt: time.Date(1600, 1, 1, 0, 0, 0, 0, time.UTC)}},
		{name: "time after 2262", s: Session{LastSeen: time.Date(2300, 1, 1, 0, 0, 0, 0, time.UTC)}},
		{name: "over 1 MiB", s: Session{ClaimsJSON: strings.Repeat("x", maxRecordSize)}, want: ErrTooLarge},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b, err := tc.s.MarshalBinary()
			if err == nil {
				t.Fatalf("MarshalBinary succeeded with %d bytes", len(b))
			}
			if tc.want != nil && !errors.Is(err, tc.want) {
				t.Errorf("err = %v, want %v", err, tc.want)
			}
		})
	}
}

func TestUnmarshalRejects(t *testing.T) {
	valid, err := sampleSession(t, time.Now()).MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	small, _ := (&Session{ID: "a"}).MarshalBinary() // 01 01 'a', then a zero byte per other field
	tests := []struct {
		name string
		in   []byte
	}{
		{name: "nil", in: nil},
		{name: "version 0", in: append([]byte{0}, small[1:]...)},
		{name: "version 2", in: append([]byte{2}, small[1:]...)},
		{name: "trailing byte", in: append(append([]byte{}, small...), 0)},
		{name: "length past end", in: []byte{1, 0x7f, 'a'}},
		{name: "huge length", in: []byte{1, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}},
		{name: "varint overflow", in: []byte{1, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02}},
		{name: "varint too long", in: []byte{1, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01}},
		{name: "non-minimal varint", in: append([]byte{1, 0x81, 0x00, 'a'}, small[3:]...)},
		{name: "oversized", in: append([]byte{1}, make([]byte, maxRecordSize)...)},
		{name: "garbage", in: []byte("this is not a session record at all")},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := Session{ID: "unchanged"}
			err := s.UnmarshalBinary(tc.in)
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("err = %v, want ErrInvalid", err)
			}
			if s.ID != "unchanged" {
				t.Errorf("failed decode modified the session: %+v", s)
			}
		})
	}
	t.Run("every truncation", func(t *testing.T) {
		for n := range len(valid) {
			var s Session
			if err := s.UnmarshalBinary(valid[:n]); err == nil {
				t.Fatalf("truncation to %d bytes decoded", n)
			}
		}
	})
}

func FuzzUnmarshalBinary(f *testing.F) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC)
	for _, s := range []Session{{}, {ID: "x", Subject: "ü"}, *sampleSession(f, now)} {
		b, err := s.MarshalBinary()
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte{1, 0x81, 0x00})
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		var s Session
		if err := s.UnmarshalBinary(data); err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("error does not wrap ErrInvalid: %v", err)
			}
			return
		}
		// Whatever decodes re-encodes to exactly the same bytes.
		b, err := s.MarshalBinary()
		if err != nil {
			t.Fatalf("decoded session does not encode: %v", err)
		}
		if !bytes.Equal(b, data) {
			t.Fatalf("round trip differs:\n in  %x\n out %x", data, b)
		}
	})
}

func TestNewID(t *testing.T) {
	seen := map[string]bool{}
	for range 100 {
		id := mustID(t)
		if len(id) != 43 || !validID(id) {
			t.Fatalf("NewID = %q, want 43 base64url characters", id)
		}
		b, err := base64.RawURLEncoding.DecodeString(id)
		if err != nil || len(b) != 32 {
			t.Fatalf("NewID = %q does not decode to 32 bytes", id)
		}
		if seen[id] {
			t.Fatalf("duplicate ID %q", id)
		}
		seen[id] = true
	}
}

func TestValidID(t *testing.T) {
	tests := []struct {
		name string
		id   string
		want bool
	}{
		{name: "new id", id: mustID(t), want: true},
		{name: "empty", id: "", want: false},
		{name: "too short", id: "abc", want: false},
		{name: "too long", id: strings.Repeat("a", 129), want: false},
		{name: "separator", id: "aaaaaaaaaaaaaaaa;bbb", want: false},
		{name: "padding", id: "aaaaaaaaaaaaaaaa==", want: false},
		{name: "path", id: "../../../../etc/passwd", want: false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := validID(tc.id); got != tc.want {
				t.Errorf("validID(%q) = %v, want %v", tc.id, got, tc.want)
			}
		})
	}
}

func TestDecodeBase64(t *testing.T) {
	for n := range 200 {
		b := make([]byte, n)
		_, _ = rand.Read(b)
		s := base64.RawURLEncoding.EncodeToString(b)
		dst := make([]byte, len(s)*3/4)
		k, ok := decodeBase64(dst, s)
		if !ok || !bytes.Equal(dst[:k], b) {
			t.Fatalf("length %d: decode = %x, %v; want %x", n, dst[:k], ok, b)
		}
	}
	tests := []struct {
		name string
		in   string
	}{
		{name: "standard alphabet plus", in: "abc+"},
		{name: "standard alphabet slash", in: strings.Repeat("A", 16) + "ab/d"},
		{name: "padding", in: "YQ=="},
		{name: "length 1 mod 4", in: "abcde"},
		{name: "non-zero trailing bits 2", in: "YR"},
		{name: "non-zero trailing bits 3", in: "YWJ"},
		{name: "invalid in fast path", in: strings.Repeat("A", 15) + "*" + strings.Repeat("A", 8)},
		{name: "high byte", in: "AAA\xff"},
		{name: "space", in: "AA AA"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dst := make([]byte, len(tc.in))
			if _, ok := decodeBase64(dst, tc.in); ok {
				t.Errorf("decodeBase64(%q) succeeded", tc.in)
			}
		})
	}
	t.Run("short destination", func(t *testing.T) {
		if _, ok := decodeBase64(make([]byte, 2), "AAAA"); ok {
			t.Error("decoded 3 bytes into 2")
		}
	})
}
