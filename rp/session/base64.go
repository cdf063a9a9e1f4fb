package session

import "encoding/binary"

// A table-driven decoder for unpadded base64url (RFC 4648 §5) that reads a
// string, so cookie values are decoded without converting them to []byte.
// It is about twice as fast as encoding/base64 on cookie-sized input, which
// matters because decoding is the largest cost of loading a cookie session.

const base64URLAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

// b64Invalid marks a character outside the alphabet; it survives OR-ing
// into the top byte, which valid sextets never reach.
const b64Invalid = 0xff000000

// b64Tables[i][c] is the sextet of character c shifted into position i of a
// 4-character group (18, 12, 6, 0 bits).
var b64Tables = func() (t [4][256]uint32) {
	for i := range t {
		for c := range t[i] {
			t[i][c] = b64Invalid
		}
	}
	for v := range 64 {
		c := base64URLAlphabet[v]
		t[0][c] = uint32(v) << 18
		t[1][c] = uint32(v) << 12
		t[2][c] = uint32(v) << 6
		t[3][c] = uint32(v)
	}
	return t
}()

// decodeBase64 decodes unpadded base64url s into dst and returns the number
// of bytes written. dst must hold at least len(s)*3/4 bytes. It reports
// false for a character outside the alphabet, an impossible length (len%4
// == 1) or non-zero trailing bits (a non-canonical encoding).
func decodeBase64(dst []byte, s string) (int, bool) {
	d0, d1, d2, d3 := &b64Tables[0], &b64Tables[1], &b64Tables[2], &b64Tables[3]
	var acc uint32
	i, j := 0, 0
	// 16 characters → 12 bytes, written as two overlapping 8-byte stores.
	for ; len(s)-i >= 16 && len(dst)-j >= 14; i += 16 {
		q := s[i : i+16]
		x := d0[q[0]] | d1[q[1]] | d2[q[2]] | d3[q[3]]
		y := d0[q[4]] | d1[q[5]] | d2[q[6]] | d3[q[7]]
		z := d0[q[8]] | d1[q[9]] | d2[q[10]] | d3[q[11]]
		w := d0[q[12]] | d1[q[13]] | d2[q[14]] | d3[q[15]]
		acc |= x | y | z | w
		d := dst[j : j+14]
		binary.BigEndian.PutUint64(d, uint64(x)<<40|uint64(y)<<16)
		binary.BigEndian.PutUint64(d[6:], uint64(z)<<40|uint64(w)<<16)
		j += 12
	}
	for ; len(s)-i >= 4; i += 4 {
		q := s[i : i+4]
		x := d0[q[0]] | d1[q[1]] | d2[q[2]] | d3[q[3]]
		acc |= x
		if len(dst)-j < 3 {
			return 0, false
		}
		dst[j], dst[j+1], dst[j+2] = byte(x>>16), byte(x>>8), byte(x)
		j += 3
	}
	switch len(s) - i {
	case 0:
	case 2:
		x := d0[s[i]] | d1[s[i+1]]
		if x&0xffff != 0 || len(dst)-j < 1 {
			return 0, false
		}
		acc |= x
		dst[j] = byte(x >> 16)
		j++
	case 3:
		x := d0[s[i]] | d1[s[i+1]] | d2[s[i+2]]
		if x&0xff != 0 || len(dst)-j < 2 {
			return 0, false
		}
		acc |= x
		dst[j], dst[j+1] = byte(x>>16), byte(x>>8)
		j += 2
	default:
		return 0, false
	}
	if acc&b64Invalid != 0 {
		return 0, false
	}
	return j, true
}
