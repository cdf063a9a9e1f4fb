// Package redistest runs a real redis-server for tests: one process per
// test, on a free loopback port, with its data in the test's temporary
// directory, stopped by its PID when the test ends.
//
// A [Server] can be killed (a crash), shut down gracefully, restarted on
// the same port and directory (empty, or with the data it persisted when
// started with --appendonly yes), and frozen with SIGSTOP (a hung server
// or a network partition: connections stay open, nothing answers), so
// that tests can prove how code behaves while Redis is away and after it
// comes back.
//
// Tests that need Redis skip when redis-server is not installed, except
// under CI=true, where its absence fails them (install it with
// apt-get install redis-server).
//
// # Example
//
//	func TestReplicas(t *testing.T) {
//		srv := redistest.Start(t) // no persistence
//		client, err := redisstore.NewClient(srv.URL())
//		if err != nil {
//			t.Fatal(err)
//		}
//		defer client.Close()
//		// ... use client ...
//		srv.Kill()    // Redis crashes: calls fail
//		srv.Restart() // back, with no data
//	}
//
//	func TestPersistence(t *testing.T) {
//		aof := []string{"--appendonly", "yes", "--appendfsync", "always"}
//		srv := redistest.Start(t, aof...)
//		// ... write ...
//		srv.Shutdown()
//		srv.Restart(aof...) // the data is back
//	}
package redistest
