package redisstore

import (
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/oidcrp/oidcrp/rp/session"
)

// benchStore saves a sample session through a ServerStore over a Redis
// backend and returns the store and a request carrying its cookie.
func benchStore(b *testing.B, rp *redisProc, codec *session.Codec) (*session.ServerStore, *http.Request) {
	b.Helper()
	st := session.NewServerStore(rp.store(b, Options{Codec: codec}), session.CookieOptions{MaxAge: time.Hour})
	s := sampleSession(b, time.Now())
	rec := httptest.NewRecorder()
	if err := st.Save(rec, nil, s); err != nil {
		b.Fatal(err)
	}
	r := httptest.NewRequest(http.MethodGet, "https://app.example/api/whoami", nil)
	for _, c := range rec.Result().Cookies() {
		r.AddCookie(c)
	}
	got, err := st.Load(r)
	if err != nil || got == nil {
		b.Fatalf("Load = %v, %v", got, err)
	}
	return st, r
}

// BenchmarkServerStoreLoad is one authenticated request's session lookup:
// cookie parsing, one HGET over loopback, opening and decoding the record.
func BenchmarkServerStoreLoad(b *testing.B) {
	rp := startRedis(b)
	for _, bc := range []struct {
		name  string
		codec *session.Codec
	}{{name: "plain"}, {name: "sealed", codec: mustCodec(b, 1)}} {
		b.Run(bc.name, func(b *testing.B) {
			st, r := benchStore(b, rp, bc.codec)
			b.ReportAllocs()
			for b.Loop() {
				s, err := st.Load(r)
				if err != nil || s == nil {
					b.Fatalf("Load = %v, %v", s, err)
				}
			}
		})
	}
}

// BenchmarkServerStoreLoadParallel runs the lookup from 64 goroutines at
// once, as 64 concurrent requests on one replica, and reports the latency
// percentiles of single lookups.
func BenchmarkServerStoreLoadParallel(b *testing.B) {
	const goroutines = 64
	rp := startRedis(b)
	st, r := benchStore(b, rp, mustCodec(b, 1))
	b.ReportAllocs()
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex // guards all and fail
		all  = make([]time.Duration, 0, b.N)
		fail error
	)
	b.ResetTimer()
	for g := range goroutines {
		n := b.N / goroutines
		if g < b.N%goroutines {
			n++
		}
		wg.Go(func() {
			durs := make([]time.Duration, 0, n)
			for range n {
				start := time.Now()
				s, err := st.Load(r)
				durs = append(durs, time.Since(start))
				if err != nil || s == nil {
					mu.Lock()
					fail = err
					mu.Unlock()
					return
				}
			}
			mu.Lock()
			all = append(all, durs...)
			mu.Unlock()
		})
	}
	wg.Wait()
	b.StopTimer()
	if fail != nil {
		b.Fatal(fail)
	}
	if len(all) == 0 {
		return
	}
	slices.Sort(all)
	pct := func(p float64) float64 {
		return float64(all[min(len(all)-1, int(p*float64(len(all))))]) / float64(time.Microsecond)
	}
	b.ReportMetric(pct(0.50), "p50-µs")
	b.ReportMetric(pct(0.99), "p99-µs")
	b.ReportMetric(pct(0.999), "p99.9-µs")
}
