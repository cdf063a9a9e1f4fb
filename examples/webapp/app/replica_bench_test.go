package app_test

import (
	"context"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// BenchmarkWhoamiRedis measures an authenticated GET /api/whoami with
// SESSION_STORE=redis (Redis on loopback): through the application's
// handler, and through a real HTTP server with 64 concurrent clients,
// reporting the latency percentiles and the Redis commands per request.
func BenchmarkWhoamiRedis(b *testing.B) { benchmarkWhoami(b, "redis") }

// BenchmarkWhoamiCookie is BenchmarkWhoamiRedis with SESSION_STORE=cookie
// (the session sealed in the cookie), for comparison.
func BenchmarkWhoamiCookie(b *testing.B) { benchmarkWhoami(b, "cookie") }

// BenchmarkWhoamiFile is BenchmarkWhoamiRedis with SESSION_STORE=file
// (records cached in-process), for comparison.
func BenchmarkWhoamiFile(b *testing.B) { benchmarkWhoami(b, "file") }

// benchClients is the number of concurrent clients of the parallel
// variant.
const benchClients = 64

func benchmarkWhoami(b *testing.B, store string) {
	s := startReplicas(b, replicaOptions{store: store, quiet: true})
	c := s.browser()
	s.a.login(b, c)
	var parts []string
	for _, ck := range s.cookies(c) {
		parts = append(parts, ck.Name+"="+ck.Value)
	}
	cookie := strings.Join(parts, "; ")
	var stats *redis.Client
	if s.redis != nil {
		stats = redis.NewClient(&redis.Options{Addr: s.redis.Addr()})
		b.Cleanup(func() { stats.Close() })
	}

	b.Run("handler", func(b *testing.B) {
		req, err := http.NewRequest(http.MethodGet, s.a.base+"/api/whoami", nil)
		if err != nil {
			b.Fatal(err)
		}
		req.Header.Set("Accept", "application/json")
		req.Header.Set("Cookie", cookie)
		w := &discardWriter{header: http.Header{}}
		cmds := redisCommands(b, stats)
		b.ReportAllocs()
		for b.Loop() {
			w.reset()
			s.a.handler.ServeHTTP(w, req)
			if w.status != http.StatusOK {
				b.Fatalf("status %d", w.status)
			}
		}
		if stats != nil {
			// The first INFO counts too.
			b.ReportMetric(float64(redisCommands(b, stats)-cmds-1)/float64(b.N), "redis-cmds/op")
		}
	})

	b.Run("http-64clients", func(b *testing.B) {
		tr := &http.Transport{MaxIdleConnsPerHost: benchClients, MaxConnsPerHost: benchClients}
		defer tr.CloseIdleConnections()
		client := &http.Client{Transport: tr, Timeout: 10 * time.Second}
		do := func() error {
			req, err := http.NewRequest(http.MethodGet, s.a.base+"/api/whoami", nil)
			if err != nil {
				return err
			}
			req.Header.Set("Accept", "application/json")
			req.Header.Set("Cookie", cookie)
			resp, err := client.Do(req)
			if err != nil {
				return err
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				return &statusError{resp.StatusCode}
			}
			return nil
		}
		// Open the connections before timing.
		var warm sync.WaitGroup
		for range benchClients {
			warm.Go(func() { _ = do() })
		}
		warm.Wait()

		var next atomic.Int64
		latencies := make([][]time.Duration, benchClients)
		errs := make(chan error, benchClients)
		var wg sync.WaitGroup
		cmds := redisCommands(b, stats)
		b.ReportAllocs()
		b.ResetTimer()
		start := time.Now()
		for g := range benchClients {
			wg.Go(func() {
				for next.Add(1) <= int64(b.N) {
					t0 := time.Now()
					if err := do(); err != nil {
						errs <- err
						return
					}
					latencies[g] = append(latencies[g], time.Since(t0))
				}
			})
		}
		wg.Wait()
		elapsed := time.Since(start)
		b.StopTimer()
		close(errs)
		for err := range errs {
			b.Fatal(err)
		}
		all := slices.Concat(latencies...)
		slices.Sort(all)
		b.ReportMetric(float64(percentile(all, 50).Microseconds()), "p50-µs")
		b.ReportMetric(float64(percentile(all, 99).Microseconds()), "p99-µs")
		b.ReportMetric(float64(len(all))/elapsed.Seconds(), "req/s")
		if stats != nil {
			// The first INFO counts too.
			b.ReportMetric(float64(redisCommands(b, stats)-cmds-1)/float64(b.N), "redis-cmds/op")
		}
	})
}

// percentile returns the p-th percentile of sorted latencies.
func percentile(sorted []time.Duration, p int) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := (len(sorted)*p + 99) / 100
	return sorted[min(max(i-1, 0), len(sorted)-1)]
}

// redisCommands returns the number of commands Redis has processed (INFO
// stats, which counts an INFO once it has answered), or 0 without Redis.
func redisCommands(b *testing.B, c *redis.Client) int64 {
	b.Helper()
	if c == nil {
		return 0
	}
	info, err := c.Info(context.Background(), "stats").Result()
	if err != nil {
		b.Fatal(err)
	}
	for line := range strings.Lines(info) {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "total_commands_processed:"); ok {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				b.Fatal(err)
			}
			return n
		}
	}
	b.Fatal("INFO stats has no total_commands_processed")
	return 0
}

// discardWriter is an http.ResponseWriter that keeps the status and
// discards the body, reused across iterations.
type discardWriter struct {
	header http.Header
	status int
}

func (w *discardWriter) Header() http.Header { return w.header }

func (w *discardWriter) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return len(p), nil
}

func (w *discardWriter) WriteHeader(status int) {
	if w.status == 0 {
		w.status = status
	}
}

func (w *discardWriter) reset() {
	clear(w.header)
	w.status = 0
}

// statusError is an unexpected HTTP status.
type statusError struct{ status int }

func (e *statusError) Error() string { return "status " + strconv.Itoa(e.status) }
