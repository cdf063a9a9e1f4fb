// Package leaktest holds what the slow-provider tests share: a goroutine
// count that must come back down once a test's work is over.
package leaktest

import (
	"runtime"
	"testing"
	"time"
)

// WaitGoroutines fails t unless the number of goroutines drops back to
// baseline (taken with runtime.NumGoroutine before the test's work) within
// five seconds; the failure shows every goroutine's stack.
func WaitGoroutines(t testing.TB, baseline int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		n := runtime.NumGoroutine()
		if n <= baseline {
			return
		}
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<16)
			buf = buf[:runtime.Stack(buf, true)]
			t.Fatalf("%d goroutines remain, %d before: leak\n%s", n, baseline, buf)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
