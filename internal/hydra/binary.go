package hydra

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
)

// Version is the Ory Hydra release the harness builds and runs.
const Version = "v2.3.0"

// EnvBinary names the environment variable that points at a prebuilt Hydra
// binary; when it is set, Binary uses it instead of building one.
const EnvBinary = "OIDCRP_HYDRA_BIN"

// ErrNoRepoRoot is returned by Binary when no go.mod is found above the
// working directory, so scripts/hydra.sh cannot be located.
var ErrNoRepoRoot = errors.New("hydra: no go.mod found above the working directory")

var (
	// binaryMu guards binaryPath.
	binaryMu sync.Mutex
	// binaryPath caches the first successful Binary result of this process.
	binaryPath string
)

// Binary returns the path of an Ory Hydra v2.3.0 binary. It uses
// $OIDCRP_HYDRA_BIN when set; otherwise it runs `scripts/hydra.sh path` in the
// repository root (found by walking up from the working directory to go.mod),
// which reuses .cache/bin/hydra or builds it (a minute or two, needs a C
// compiler). A successful result is cached for the life of the process.
func Binary(ctx context.Context) (string, error) {
	if p := os.Getenv(EnvBinary); p != "" {
		fi, err := os.Stat(p)
		if err != nil {
			return "", fmt.Errorf("hydra: %s: %w", EnvBinary, err)
		}
		if fi.IsDir() || fi.Mode().Perm()&0o111 == 0 {
			return "", fmt.Errorf("hydra: %s=%s is not an executable file", EnvBinary, p)
		}
		return p, nil
	}
	binaryMu.Lock()
	defer binaryMu.Unlock()
	if binaryPath != "" {
		return binaryPath, nil
	}
	root, err := repoRoot()
	if err != nil {
		return "", err
	}
	script := filepath.Join(root, "scripts", "hydra.sh")
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, "bash", script, "path")
	cmd.Dir = root
	cmd.Stdout = &stdout
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("hydra: %s path: %w\n%s", script, err, tail(stderr.String(), 30))
	}
	lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
	p := strings.TrimSpace(lines[len(lines)-1])
	if p == "" {
		return "", fmt.Errorf("hydra: %s path printed no path\n%s", script, tail(stderr.String(), 30))
	}
	binaryPath = p
	return p, nil
}

// repoRoot walks up from the working directory to the first directory that
// holds a go.mod.
func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("hydra: working directory: %w", err)
	}
	return findUp(dir, "go.mod")
}

// findUp returns the first directory at or above dir that contains name.
func findUp(dir, name string) (string, error) {
	for {
		if _, err := os.Stat(filepath.Join(dir, name)); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", ErrNoRepoRoot
		}
		dir = parent
	}
}

// tail returns the last n lines of s.
func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
