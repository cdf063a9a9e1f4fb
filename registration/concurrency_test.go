package registration

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestEnsureConcurrentGoroutinesRegisterOneClient(t *testing.T) {
	stores := []struct {
		name  string
		store func(t *testing.T) CredentialStore
	}{
		{name: "memory", store: func(*testing.T) CredentialStore { return &MemoryStore{} }},
		// Each goroutine opens its own FileStore, as separate processes would.
		{name: "file flock", store: nil},
		{name: "file portable lock", store: nil},
	}
	for _, sc := range stores {
		t.Run(sc.name, func(t *testing.T) {
			env := newEnv(t)
			env.op.set(func(op *fakeOP) { op.registerDelay = 30 * time.Millisecond })
			path := filepath.Join(t.TempDir(), "client.json")
			var shared CredentialStore
			if sc.store != nil {
				shared = sc.store(t)
			}
			const n = 8
			ids := make([]string, n)
			errs := make([]error, n)
			var wg sync.WaitGroup
			start := make(chan struct{})
			for i := range n {
				wg.Go(func() {
					opts := env.options(wanted())
					if shared != nil {
						opts.Store = shared
					} else {
						fs := NewFileStore(path)
						fs.portable = sc.name == "file portable lock"
						opts.Store = fs
					}
					<-start
					c, err := Ensure(t.Context(), opts)
					errs[i] = err
					if c != nil {
						ids[i] = c.ClientID
					}
				})
			}
			close(start)
			wg.Wait()
			for i, err := range errs {
				if err != nil {
					t.Fatalf("goroutine %d: %v", i, err)
				}
				if ids[i] != ids[0] {
					t.Fatalf("goroutines got clients %v, want one", ids)
				}
			}
			if got := env.op.count(); got != 1 {
				t.Fatalf("%d goroutines registered %d clients, want 1", n, got)
			}
		})
	}
}

// Environment of the helper process.
const (
	envHelper = "OIDCRP_REGISTRATION_TEST_HELPER"
	envIssuer = "OIDCRP_REGISTRATION_TEST_ISSUER"
	envFile   = "OIDCRP_REGISTRATION_TEST_FILE"
)

// TestEnsureHelperProcess is not a test: it is the body of the processes
// TestEnsureConcurrentProcessesRegisterOneClient starts.
func TestEnsureHelperProcess(t *testing.T) {
	if os.Getenv(envHelper) != "1" {
		t.Skip("helper process for TestEnsureConcurrentProcessesRegisterOneClient")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c, err := Ensure(ctx, Options{
		Metadata: wanted(),
		Store:    NewFileStore(os.Getenv(envFile)),
		Issuer:   os.Getenv(envIssuer),
		Logger:   slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(3)
	}
	fmt.Printf("CLIENT_ID=%s\n", c.ClientID)
	os.Exit(0)
}

func TestEnsureConcurrentProcessesRegisterOneClient(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes")
	}
	env := newEnv(t)
	env.op.set(func(op *fakeOP) { op.registerDelay = 100 * time.Millisecond })
	path := filepath.Join(t.TempDir(), "client.json")

	const n = 4
	cmds := make([]*exec.Cmd, n)
	outs := make([]*bytes.Buffer, n)
	for i := range n {
		cmd := exec.Command(os.Args[0], "-test.run=^TestEnsureHelperProcess$", "-test.count=1")
		cmd.Env = append(os.Environ(), envHelper+"=1", envIssuer+"="+env.op.URL(), envFile+"="+path)
		outs[i] = new(bytes.Buffer)
		cmd.Stdout = outs[i]
		cmd.Stderr = outs[i]
		cmds[i] = cmd
	}
	for i, cmd := range cmds {
		if err := cmd.Start(); err != nil {
			t.Fatalf("start helper %d: %v", i, err)
		}
	}
	var ids []string
	for i, cmd := range cmds {
		if err := cmd.Wait(); err != nil {
			t.Fatalf("helper %d: %v\n%s", i, err, outs[i])
		}
		_, after, ok := strings.Cut(outs[i].String(), "CLIENT_ID=")
		if !ok {
			t.Fatalf("helper %d printed no client id:\n%s", i, outs[i])
		}
		ids = append(ids, strings.Fields(after)[0])
	}
	for _, id := range ids {
		if id != ids[0] {
			t.Fatalf("processes got clients %v, want one", ids)
		}
	}
	if got := env.op.count(); got != 1 {
		t.Fatalf("%d processes registered %d clients, want 1", n, got)
	}
	stored, err := NewFileStore(path).Load(t.Context())
	if err != nil || stored.ClientID != ids[0] {
		t.Fatalf("stored %v, %v", stored, err)
	}
}
